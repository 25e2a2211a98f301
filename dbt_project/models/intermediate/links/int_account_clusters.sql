-- Connected components of the account links on each night, by label propagation: every
-- account starts with its own id as label and takes the smallest label among its neighbours,
-- cluster_iterations times (enough for clusters of that diameter; the data test
-- links_within_one_cluster warns when a cluster needs more). cluster_id = 'cl-' + smallest
-- account id of the component. The links are those whose shared identifiers weigh enough
-- (int_account_links: one strong identifier or two independent weaker ones), so a cluster is
-- cut wherever only weak links would join it.
{%- set n = var('cluster_iterations') %}

-- Spark inlines CTEs, and twelve rounds that each read the one before twice make a plan that
-- grows until the driver runs out of memory: there each round is written first
-- (macro spark__cluster_labels).
-- depends_on: {{ ref('int_account_links') }}

{{ cluster_labels(n) }}
