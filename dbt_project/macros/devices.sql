{#- Devices that two accounts or more have used by the last night computed (int_device_accounts),
    for a model with a `nights` CTE: the only devices that shared_device and the device links
    can count, a few thousand of a million, so the window's device-days are read for these. -#}
{% macro shared_devices() -%}
    select device_id
    from {{ ref('int_device_accounts') }}
    where first_seen_night <= (select max(night) from nights)
    group by device_id
    having count(*) >= 2
{%- endmacro %}
