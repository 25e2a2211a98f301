{#- Fails for every link whose two accounts ended in different clusters: label propagation
    needed more rounds than var cluster_iterations. -#}
{% test links_within_one_cluster(model) %}
select l.night, l.account_id, l.linked_account_id
from {{ ref('int_account_links') }} as l
inner join {{ model }} as a on a.night = l.night and a.account_id = l.account_id
inner join {{ model }} as b on b.night = l.night and b.account_id = l.linked_account_id
where a.cluster_id <> b.cluster_id
{% endtest %}
