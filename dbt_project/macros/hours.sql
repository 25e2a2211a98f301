{#- An event in the UTC+8/+9 working day of indicator foreign_hours (var
    indicator_thresholds.foreign_hours.asia_day_start_utc / asia_day_end_utc): the UTC hour
    from the stored microseconds, the same as hour(ts) in a UTC session. One definition for
    int_account_day_activity's counts and the shares that foreign_hours measures. -#}
{% macro in_asia_working_day(ts) -%}
    (epoch_us({{ ts }}) // 3600000000) % 24 >= {{ th('foreign_hours', 'asia_day_start_utc') }}
    and (epoch_us({{ ts }}) // 3600000000) % 24 < {{ th('foreign_hours', 'asia_day_end_utc') }}
{%- endmacro %}
