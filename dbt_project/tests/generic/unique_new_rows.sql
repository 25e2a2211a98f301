{#- Fails for every combination of `columns` (or of the column the test is declared on) that
    the rows not yet checked (`night_column` after macro tested_through: tonight's, or every
    night of a rebuild batch) hold twice, or that a checked row already holds. Checked rows
    passed this test on their own night, so this equals a uniqueness check over the whole table
    (within the test's `where`), but it probes the checked rows against the new ones instead of
    grouping them all. Without a night given (var as_of_date or ITW_RADAR_AS_OF_DATE, macro
    night_given) every row counts as new: the whole table is grouped.
    When `night_column` is one of `columns`, a new row cannot repeat a checked one (their nights
    differ): only the new rows are read and grouped. -#}
{% test unique_new_rows(model, night_column, columns=none, column_name=none) %}
{%- set columns = columns or [column_name] %}
{%- set cols = columns | join(', ') %}
{%- set given = night_given() %}
{%- set only_new = night_column in columns and given %}

with

candidates as (

    select
        {{ cols }},
        {%- if given %}
        {{ night_column }} > {{ tested_through() }} as is_new
        {%- else %}
        true as is_new
        {%- endif %}
    from {{ model }}
    where {% for c in columns %}{{ c }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
    {%- if only_new %}
      and {{ night_column }} > {{ tested_through() }}
    {%- endif %}

),

new_rows as (

    select {{ cols }} from candidates where is_new

),

repeated_among_new as (

    select {{ cols }}, count(*) as n
    from new_rows
    group by {{ cols }}
    having count(*) > 1

){%- if not only_new %},

repeating_a_checked_row as (

    select {{ cols }}, 2 as n
    from candidates
    semi join new_rows using ({{ cols }})
    where not candidates.is_new

)
{%- endif %}

select * from repeated_among_new
{%- if not only_new %}
union all
select * from repeating_a_checked_row
{%- endif %}
{% endtest %}
