{#- An event in the Asian working day of indicator foreign_hours (var
    indicator_thresholds.foreign_hours.asia_day_start_utc / asia_day_end_utc): the UTC hour
    from the stored microseconds, the same as hour(ts) in a UTC session. A window whose start
    hour is after its end hour wraps midnight (23-10 UTC: 23:00-09:59). One definition for
    int_account_day_activity's counts and the shares that foreign_hours measures. -#}
{% macro in_asia_working_day(ts) -%}
    {%- set start = th('foreign_hours', 'asia_day_start_utc') | int -%}
    {%- set end = th('foreign_hours', 'asia_day_end_utc') | int -%}
    {%- set hour = '(' ~ idiv(epoch_us(ts), '3600000000') ~ ' % 24)' -%}
    {%- if start <= end -%}
    ({{ hour }} >= {{ start }} and {{ hour }} < {{ end }})
    {%- else -%}
    ({{ hour }} >= {{ start }} or {{ hour }} < {{ end }})
    {%- endif -%}
{%- endmacro %}
