-- Messages that matched a text indicator (off_platform requests, video_avoidance excuses),
-- with the matching text and its 0-based position in the body.

select
    message_id,
    indicator_id,
    pattern_id,
    sender_account_id,
    recipient_account_id,
    sent_at,
    body,
    match_text,
    match_start,
    match_end
from {{ ref('int_message_matches') }}
where export_date <= {{ as_of() }}
