"""A realistic serving database for the dashboard's tests, built with DuckDB SQL.

`build_serving_db(path, accounts, nights, seed)` writes every table of docs/serving_schema.md with
exactly the documented columns. Randomness comes from `hash(i, salt, seed)`, so the same arguments
give the same file whatever the thread count. It is fast enough for a million accounts (the
dashboard benchmark) and small enough at the default 500 for tests.

Known rows the tests rely on (present for any `accounts >= 20`):
- `A000001`..`A000006` are high risk, fire most indicators, and share cluster `C0001`;
- their display names are hostile strings (SQL, HTML, Markdown, spreadsheet formula);
- `A000001` sent matched messages whose bodies hold hostile strings too.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

START = dt.date(2026, 11, 1)

HOSTILE_NAMES = (
    "'; DROP TABLE accounts; --",
    "<script>alert(1)</script>",
    "[click](http://x)",
    '=HYPERLINK("http://x")',
    ":red[boom] **bold** $x^2$",
    "@SUM(1+1)",
    "evil\u202e eman",  # a right-to-left override: "evil name" would read "live name"
    "Ad\u200bmin Us\u2066er",  # zero-width space, left-to-right isolate
)

INDICATORS = (
    # id, name, weight, source, description
    ("shared_payout_fingerprint", "Payout account shared with other accounts", 25.0,
     "ROK 2022 joint advisory: several accounts paid out to the same bank or payment account",
     "The payout fingerprint is also used by other freelancer accounts."),
    ("remote_desktop_work", "Remote-desktop tool during tracked work", 20.0,
     "FBI/State 2023 advisory: remote access to laptops located in the claimed country",
     "The time tracker saw a remote-desktop tool in most work sessions."),
    ("anonymised_logins", "Logins through VPN, hosting or Tor", 15.0,
     "FBI 2024 advisory: use of VPS and VPN services to hide the true location",
     "Share of successful logins from VPN, hosting or Tor addresses."),
    ("ip_country_mismatch", "Login country differs from claimed country", 15.0,
     "ROK 2022 joint advisory: IP addresses inconsistent with the stated location",
     "Share of logins geolocated outside the claimed country of residence."),
    ("document_face_reuse", "Same face on documents of different accounts", 25.0,
     "State/Treasury 2022 advisory: forged or borrowed identity documents",
     "The document portrait's perceptual hash is close to another account's."),
    ("off_platform_payment", "Asks to be paid off-platform", 20.0,
     "ROK 2022 joint advisory: requests for payment in virtual currency or outside the platform",
     "A message matched a phrase asking for payment outside the platform."),
    ("timezone_mismatch", "Active hours do not fit the claimed time zone", 10.0,
     "FBI 2023 advisory: working hours aligned with Korea Standard Time",
     "Most activity falls at night in the claimed time zone."),
    ("voip_phone", "Verification phone is a VoIP number", 10.0,
     "ROK 2022 joint advisory: use of virtual phone numbers for verification",
     "The phone used for verification is a VoIP line."),
)

FIRST_NAMES = ("Jin", "Min", "Alex", "Sam", "Maria", "Chen", "Ivan", "Olu", "Priya", "Lee",
               "Noah", "Emma", "Yuki", "Carlos", "Ana", "Tom")
LAST_NAMES = ("Park", "Kim", "Smith", "Garcia", "Nguyen", "Ivanov", "Okafor", "Patel", "Brown",
              "Tanaka", "Silva", "Jones", "Lopez", "Chen", "Wright", "Hall")
COUNTRIES = ("US", "GB", "DE", "CA", "JP", "KR", "UA", "NG", "IN", "BR", "PL", "AU")
TIMEZONES = ("America/New_York", "Europe/London", "Europe/Berlin", "America/Toronto",
             "Asia/Tokyo", "Asia/Seoul", "Europe/Kyiv", "Africa/Lagos", "Asia/Kolkata",
             "America/Sao_Paulo", "Europe/Warsaw", "Australia/Sydney")
CATEGORIES = ("web", "mobile", "blockchain", "data", "design")
LINK_TYPES = ("ip_day", "device", "payout_fingerprint", "payment_fingerprint", "document_number",
              "face_phash", "image_phash", "phone")
CONTRACT_TABLES = ("accounts", "identity_documents", "payment_methods", "contracts", "logins",
                   "work_sessions", "interviews", "reviews", "transactions", "messages")


def _lit(values: tuple[str, ...]) -> str:
    """A DuckDB list literal of fixed strings defined in this module (never user input)."""
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def build_serving_db(path: Path, accounts: int = 500, nights: int = 5, seed: int = 1) -> None:
    """Write a serving database with every documented table to `path` (replaced if present)."""
    if accounts < 20 or nights < 2:
        raise ValueError("build_serving_db needs accounts >= 20 and nights >= 2")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        _build(con, int(accounts), int(nights), int(seed))
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _build(con: duckdb.DuckDBPyConnection, n: int, nights: int, seed: int) -> None:
    as_of = START + dt.timedelta(days=nights - 1)
    x = con.execute
    x(f"CREATE TEMP MACRO r(i, salt) AS ((hash(i, salt, {seed}) % 1000003) / 1000003.0)")
    x("CREATE TEMP MACRO pick(lst, i, salt) AS "
      f"lst[CAST(1 + (hash(i, salt, {seed}) % len(lst)) AS BIGINT)]")
    x(f"CREATE TEMP MACRO night(d) AS (DATE '{START.isoformat()}' + CAST(d AS INTEGER))")
    x(f"CREATE TEMP MACRO hexid(i, salt) AS md5(concat(i, salt, {seed}))")

    x(f"""CREATE TEMP TABLE base AS
        SELECT i, printf('A%06d', i) AS account_id,
          CASE WHEN i <= 6 THEN 'bad' WHEN r(i, 'p') < 0.03 THEN 'bad'
               WHEN r(i, 'p') < 0.11 THEN 'mid' WHEN r(i, 'p') < 0.31 THEN 'light'
               ELSE 'clean' END AS cls
        FROM range(1, {n} + 1) t(i)""")
    x("CREATE TEMP TABLE ind AS SELECT * FROM (VALUES "
      + ", ".join(f"({k}, '{iid}', {w})" for k, (iid, _, w, _, _) in enumerate(INDICATORS))
      + ") t(k, indicator_id, weight)")
    # which indicator fires for which account, from which night on, how strongly
    x(f"""CREATE TEMP TABLE fires AS
        SELECT b.i, b.account_id, ind.k, ind.indicator_id, ind.weight,
          CASE WHEN b.i <= 6 THEN CAST(r(b.i * 10 + ind.k, 'start') * 2 AS INTEGER)
               ELSE CAST(r(b.i * 10 + ind.k, 'start') * {nights} AS INTEGER) END AS start_night,
          0.5 + 0.5 * r(b.i * 10 + ind.k, 'strength') AS strength
        FROM base b CROSS JOIN ind
        WHERE (b.i <= 6 AND (ind.k IN (0, 5) OR r(b.i * 10 + ind.k, 'fire') < 0.75))
           OR (b.cls = 'bad' AND r(b.i * 10 + ind.k, 'fire') < 0.6)
           OR (b.cls = 'mid' AND r(b.i * 10 + ind.k, 'fire') < 0.3)
           OR (b.cls = 'light' AND r(b.i * 10 + ind.k, 'fire') < 0.1)""")
    x(f"""CREATE TEMP TABLE hits AS
        SELECT f.account_id, night(d.d) AS as_of_date, f.indicator_id, f.k,
          round(f.strength, 3) AS strength, round(f.weight * f.strength, 2) AS points, f.i
        FROM fires f JOIN range(0, {nights}) d(d) ON d.d >= f.start_night""")
    x("""CREATE TEMP MACRO tier(s) AS CASE WHEN s >= 60 THEN 'high' WHEN s >= 35 THEN 'medium'
                                       WHEN s > 0 THEN 'low' ELSE 'none' END""")

    # -- indicators
    x("""CREATE TABLE indicators (indicator_id VARCHAR, name VARCHAR, description VARCHAR,
        source VARCHAR, weight DOUBLE, thresholds VARCHAR, evidence_class VARCHAR,
        sign_group VARCHAR, requires VARCHAR, data_available BOOLEAN, data_status VARCHAR)""")
    con.executemany(
        "INSERT INTO indicators VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', true, 'ok')",
        [(iid, name, desc, src, w, '{"min_strength": 0.5}', "weak" if w < 20 else "strong", iid)
         for iid, name, w, src, desc in INDICATORS],
    )
    # a contract 1.1 indicator the platform sends no data for: never fires, says why
    con.execute(
        "INSERT INTO indicators VALUES ('proposal_spray', 'Proposal spray', 'Proposals across "
        "unrelated categories.', 'Okta Threat Intelligence (Sep 2025)', 0.3, '{}', 'weak', "
        "'proposal_spray', 'proposals', false, 'no data from this platform: proposals')")

    # -- account_indicator_hits
    evidence = {
        "shared_payout_fingerprint": "printf('payout fingerprint %s also used by %s', "
                                     "substr(hexid(i, 'pf'), 1, 12), printf('A%06d', 1 + (i % 6)))",
        "remote_desktop_work": "printf('%d of %d work sessions with a remote-desktop tool', "
                               "3 + (hash(i, 'rd') % 7)::INT, 12)",
        "anonymised_logins": "printf('%d%% of logins from VPN/hosting addresses "
                             "(e.g. 203.0.113.%d)', 40 + (hash(i, 'vpn') % 60)::INT, "
                             "(hash(i, 'ip') % 250)::INT)",
        "ip_country_mismatch": "printf('logins from CN and RU, claimed %s', "
                               "pick(" + _lit(COUNTRIES) + ", i, 'country'))",
        "document_face_reuse": "printf('document portrait matches account %s (distance 3)', "
                               "printf('A%06d', 1 + ((i + 1) % 6)))",
        "off_platform_payment": "'message asked for payment outside the platform'",
        "timezone_mismatch": "'82% of activity between 00:00 and 06:00 local time'",
        "voip_phone": "'verification phone is a VoIP line'",
    }
    case = " ".join(f"WHEN '{k}' THEN {v}" for k, v in evidence.items())
    x(f"""CREATE TABLE account_indicator_hits AS
        SELECT account_id, as_of_date, indicator_id, strength, points,
          CASE indicator_id {case} END AS evidence
        FROM hits ORDER BY as_of_date, account_id, indicator_id""")

    # -- account_score_history (score > 0)
    x("""CREATE TABLE account_score_history AS
        SELECT account_id, as_of_date, least(100.0, round(sum(points), 1)) AS risk_score,
          tier(least(100.0, round(sum(points), 1))) AS risk_tier
        FROM hits GROUP BY ALL ORDER BY as_of_date, account_id""")

    # -- clusters: flagged accounts (score >= 35 tonight) in groups of 4, A000001-6 together
    x(f"""CREATE TEMP TABLE tonight AS
        SELECT b.i, b.account_id, coalesce(h.risk_score, 0.0) AS risk_score,
          p.risk_score AS previous_score, p.risk_tier AS previous_tier
        FROM base b
        LEFT JOIN account_score_history h
          ON h.account_id = b.account_id AND h.as_of_date = DATE '{as_of.isoformat()}'
        LEFT JOIN account_score_history p
          ON p.account_id = b.account_id AND p.as_of_date = DATE '{as_of.isoformat()}' - 1""")
    x("""CREATE TEMP TABLE members AS
        WITH flagged AS (
          SELECT i, account_id, risk_score,
            row_number() OVER (ORDER BY i) AS rn FROM tonight WHERE risk_score >= 35 AND i > 6)
        SELECT i, account_id, 'C0001' AS cluster_id FROM tonight WHERE i <= 6
        UNION ALL
        SELECT i, account_id, printf('C%04d', 2 + (rn - 1) // 4) FROM flagged
        WHERE r(i, 'incluster') < 0.7""")
    x("""DELETE FROM members WHERE cluster_id IN (
        SELECT cluster_id FROM members GROUP BY 1 HAVING count(*) < 2)""")

    # -- account_links: a chain through each cluster plus a chord, both directions
    x(f"""CREATE TEMP TABLE link_one AS
        WITH m AS (SELECT *, row_number() OVER (PARTITION BY cluster_id ORDER BY i) AS rn,
                     count(*) OVER (PARTITION BY cluster_id) AS n FROM members)
        SELECT a.account_id AS a, b.account_id AS b, a.cluster_id,
          pick({_lit(LINK_TYPES)}, a.i * 7 + b.i, 'lt') AS link_type, a.i * 7 + b.i AS h
        FROM m a JOIN m b ON a.cluster_id = b.cluster_id
          AND (b.rn = a.rn + 1 OR (a.rn = 1 AND b.rn = a.n AND a.n > 2))""")
    x("""CREATE TABLE account_links AS
        WITH one AS (
          SELECT *, CASE link_type
            WHEN 'ip_day' THEN printf('198.51.100.%d on %s', (h % 250)::INT,
                                      strftime(night(h % 3), '%Y-%m-%d'))
            WHEN 'phone' THEN substr(hexid(h, 'ph'), 1, 16)
            WHEN 'device' THEN printf('dev-%s', substr(hexid(h, 'dev'), 1, 10))
            ELSE substr(hexid(h, link_type), 1, 16) END AS link_value FROM link_one)
        SELECT a AS account_id, b AS linked_account_id, link_type, link_value, cluster_id FROM one
        UNION ALL
        SELECT b, a, link_type, link_value, cluster_id FROM one
        ORDER BY cluster_id, account_id""")

    # -- account_risk and account_profile
    x(f"""CREATE TEMP TABLE people AS
        SELECT b.i, b.account_id,
          CASE WHEN b.i <= {len(HOSTILE_NAMES)} THEN {_lit(HOSTILE_NAMES)}[b.i]
               ELSE pick({_lit(FIRST_NAMES)}, b.i, 'fn') || ' '
                    || pick({_lit(LAST_NAMES)}, b.i, 'ln')
          END AS display_name,
          CASE WHEN b.i <= 6 OR r(b.i, 'type') < 0.75 THEN 'freelancer' ELSE 'client' END
            AS account_type,
          pick({_lit(COUNTRIES)}, b.i, 'country') AS country,
          pick({_lit(TIMEZONES)}, b.i, 'country') AS timezone,
          TIMESTAMPTZ '{as_of.isoformat()} 00:00:00+00' - to_days(CAST(20 + r(b.i, 'age') * 900
            AS INTEGER)) - to_seconds(CAST(r(b.i, 'sec') * 86000 AS BIGINT)) AS created_at,
          CASE WHEN r(b.i, 'cat2') < 0.4
            THEN pick({_lit(CATEGORIES)}, b.i, 'c1') || ',' || pick({_lit(CATEGORIES)}, b.i, 'c2')
            ELSE pick({_lit(CATEGORIES)}, b.i, 'c1') END AS categories
        FROM base b""")
    x(f"""CREATE TABLE account_risk AS
        WITH fired AS (
          SELECT account_id, count(*) AS indicators_fired,
            string_agg(i.name || ' (' || CAST(h.points AS VARCHAR) || ' pts)', '; '
                       ORDER BY h.points DESC) AS reasons
          FROM hits h JOIN indicators i USING (indicator_id)
          WHERE h.as_of_date = DATE '{as_of.isoformat()}' GROUP BY 1)
        SELECT p.account_id, p.account_type, DATE '{as_of.isoformat()}' AS as_of_date,
          t.risk_score, tier(t.risk_score) AS risk_tier,
          CAST(coalesce(f.indicators_fired, 0) AS INTEGER) AS indicators_fired,
          coalesce(f.reasons, 'no indicator fired') AS reasons, m.cluster_id,
          p.display_name, p.country, p.timezone, p.created_at,
          CAST(DATE '{as_of.isoformat()}' - CAST(p.created_at AS DATE) AS INTEGER)
            AS account_age_days,
          CASE WHEN p.account_type = 'freelancer' THEN p.categories END AS categories,
          t.previous_score, t.previous_tier,
          tier(t.risk_score) = 'high' AND coalesce(t.previous_tier, 'none') <> 'high'
            AS is_new_high,
          CASE WHEN p.i > 6 AND tier(t.risk_score) = 'high' AND r(p.i, 'rev') < 0.2
               THEN 'confirmed' END AS review_status
        FROM people p JOIN tonight t USING (account_id)
        LEFT JOIN fired f USING (account_id)
        LEFT JOIN members m USING (account_id)
        ORDER BY t.risk_score DESC, p.account_id""")
    x("""CREATE TABLE account_profile AS
        SELECT p.account_id, p.account_type, p.created_at,
          p.created_at + INTERVAL 3 DAY AS updated_at, p.display_name,
          sha256(lower(replace(p.display_name, ' ', '.')) || '@mail.example') AS email_hash,
          pick(['gmail.com', 'outlook.com', 'proton.me', 'mail.example'], p.i, 'dom')
            AS email_domain,
          CASE WHEN r(p.i, 'phone') < 0.9 THEN sha256('+1555' || p.i) END AS phone_hash,
          pick(['mobile', 'voip', 'landline', 'unknown'], p.i, 'plt') AS phone_line_type,
          p.country, p.timezone,
          CASE WHEN p.account_type = 'freelancer'
               THEN CAST(round(15 + r(p.i, 'rate') * 80, 2) AS DECIMAL(18,4)) END
            AS hourly_rate_usd,
          CASE WHEN p.account_type = 'freelancer'
               THEN CAST(round(r(p.i, 'hours') * 4000, 1) AS DECIMAL(18,4)) END AS lifetime_hours,
          pick(['active', 'active', 'active', 'suspended', 'closed'], p.i, 'st') AS status,
          CASE WHEN p.account_type = 'freelancer' THEN p.display_name END
            AS document_holder_names,
          CASE WHEN p.account_type = 'freelancer' AND p.i <= 6 THEN 'Kim Chol, ' || p.display_name
               WHEN p.account_type = 'freelancer' THEN p.display_name END AS payout_holder_names
        FROM people p ORDER BY p.account_id""")

    x("""CREATE TABLE clusters AS
        SELECT m.cluster_id, CAST(count(*) AS INTEGER) AS accounts,
          max(a.risk_score) AS max_score,
          least(100.0, round(max(a.risk_score) + 5 * (count(*) - 1), 1)) AS combined_score,
          (SELECT string_agg(DISTINCT l.link_type, ',' ORDER BY l.link_type)
             FROM account_links l WHERE l.cluster_id = m.cluster_id) AS link_types
        FROM members m JOIN account_risk a USING (account_id)
        GROUP BY m.cluster_id ORDER BY combined_score DESC""")

    # -- risk_daily and indicator_daily
    x(f"""CREATE TABLE risk_daily AS
        WITH nights AS (SELECT night(d) AS as_of_date FROM range(0, {nights}) t(d)),
        grid AS (SELECT n.as_of_date, b.account_id FROM nights n CROSS JOIN base b),
        tiered AS (
          SELECT g.as_of_date, g.account_id, coalesce(h.risk_tier, 'none') AS risk_tier,
            coalesce(lag(coalesce(h.risk_tier, 'none')) OVER (
              PARTITION BY g.account_id ORDER BY g.as_of_date), 'none') AS prev_tier
          FROM grid g LEFT JOIN account_score_history h USING (as_of_date, account_id))
        SELECT as_of_date, risk_tier, count(*) AS accounts,
          count(*) FILTER (WHERE risk_tier <> prev_tier) AS new_accounts
        FROM tiered GROUP BY ALL ORDER BY as_of_date, risk_tier""")
    x("""CREATE TABLE indicator_daily AS
        SELECT as_of_date, indicator_id, count(*) AS accounts, 'ok' AS data_status
        FROM hits GROUP BY ALL ORDER BY as_of_date, indicator_id""")

    # -- payouts_daily: last nights' payouts of freelancers (flagged ones more often)
    x(f"""CREATE TABLE payouts_daily AS
        SELECT night(d.d) AS as_of_date, b.account_id,
          CAST(round(50 + r(b.i * 100 + d.d, 'pay') * 1950, 2) AS DECIMAL(18,2)) AS payout_usd
        FROM base b JOIN people p USING (account_id) CROSS JOIN range(0, {nights}) d(d)
        WHERE p.account_type = 'freelancer'
          AND r(b.i * 100 + d.d, 'paid') < CASE b.cls WHEN 'bad' THEN 0.7 ELSE 0.2 END
        ORDER BY 1, 2""")

    # -- evidence_logins: accounts with any hit, a few logins per night
    x(f"""CREATE TABLE evidence_logins AS
        WITH hit_accounts AS (SELECT DISTINCT i, account_id FROM hits),
        l AS (SELECT h.i, h.account_id, d.d, k.k FROM hit_accounts h
              CROSS JOIN range(0, {nights}) d(d) CROSS JOIN range(0, 2) k(k))
        SELECT account_id, printf('L%08d-%d-%d', i, d, k) AS login_id,
          TIMESTAMPTZ '{START.isoformat()} 00:00:00+00' + to_days(CAST(d AS INTEGER))
            + to_seconds(CAST(r(i * 100 + d * 3 + k, 'ts') * 86000 AS BIGINT)) AS ts,
          CASE WHEN r(i * 100 + d * 3 + k, 'v6') < 0.1 THEN '2001:db8::' || (i % 999)
               ELSE printf('203.0.113.%d', (hash(i, k, d) % 250)::INT) END AS ip,
          pick(['CN', 'RU', 'US', 'KR', 'NL'], i * 100 + d * 3 + k, 'ipc') AS ip_country,
          pick(['vpn', 'hosting', 'residential', 'tor', 'mobile'], i * 100 + d * 3 + k, 'ipk')
            AS ip_kind,
          printf('dev-%s', substr(hexid(i, 'dev'), 1, 10)) AS device_id,
          CASE WHEN i = 2 THEN '<script>alert(1)</script>'
               ELSE 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0' END AS user_agent
        FROM l ORDER BY account_id, ts""")

    # -- evidence_messages: accounts whose off_platform_payment indicator fired
    x("""CREATE TEMP TABLE msg AS
        WITH senders AS (
          SELECT DISTINCT i, account_id FROM hits WHERE indicator_id = 'off_platform_payment')
        SELECT s.i, s.account_id, k.k,
          CASE WHEN s.i <= 6 AND k.k = 0 THEN
                 '<script>alert(1)</script> Hi! ''; DROP TABLE accounts; -- '
          WHEN s.i <= 6 AND k.k = 1 THEN '=HYPERLINK("http://x") see [click](http://x) :red[x] '
          ELSE 'Hello, thanks for the contract. ' END AS before_text,
          pick(['please pay me in USDT to my wallet', 'can you pay via Payoneer outside the site',
                'send the money to my friend''s bank account'], s.i + k.k, 'phrase') AS match_text,
          ' and I will start today. <b>Thanks</b> $5 **now**' AS after_text
        FROM senders s CROSS JOIN range(0, 2) k(k)""")
    x(f"""CREATE TABLE evidence_messages AS
        SELECT printf('M%08d-%d', i, k) AS message_id, 'off_platform_payment' AS indicator_id,
          account_id AS sender_account_id,
          printf('A%06d', 1 + (hash(i, k, 'rcpt') % {n})) AS recipient_account_id,
          TIMESTAMPTZ '{as_of.isoformat()} 00:00:00+00' - to_days(CAST(k AS INTEGER))
            + to_seconds(CAST(r(i * 10 + k, 'sent') * 80000 AS BIGINT)) AS sent_at,
          before_text || match_text || after_text AS body, match_text,
          CAST(length(before_text) AS INTEGER) AS match_start,
          CAST(length(before_text) + length(match_text) AS INTEGER) AS match_end
        FROM msg ORDER BY message_id""")

    # -- pipeline_runs, load_files, gx_results, quarantine
    x(f"""CREATE TABLE load_files AS
        SELECT night(d.d) AS export_date, t.table_name, t.table_name || '.csv' AS file_name,
          CAST(200 + r(d.d * 31 + t.k, 'rows') * 5000 AS BIGINT) AS rows_expected,
          CAST(200 + r(d.d * 31 + t.k, 'rows') * 5000 AS BIGINT)
            - CAST(CASE WHEN r(d.d * 31 + t.k, 'q') < 0.3 THEN 1 + r(d.d, t.k) * 9 ELSE 0 END
                   AS BIGINT) AS rows_loaded,
          CAST(CASE WHEN r(d.d * 31 + t.k, 'q') < 0.3 THEN 1 + r(d.d, t.k) * 9 ELSE 0 END
               AS BIGINT) AS rows_quarantined
        FROM range(0, {nights}) d(d)
        CROSS JOIN (SELECT unnest({_lit(CONTRACT_TABLES)}) AS table_name,
                           generate_subscripts({_lit(CONTRACT_TABLES)}, 1) AS k) t
        ORDER BY 1, 2""")
    x(f"""CREATE TABLE pipeline_runs AS
        SELECT export_date, 'success' AS status,
          CAST(export_date + 1 AS TIMESTAMPTZ) + INTERVAL 2 HOUR AS started_at,
          CAST(export_date + 1 AS TIMESTAMPTZ) + INTERVAL 2 HOUR
            + to_seconds(CAST(300 + r(hash(export_date), 'dur') * 600 AS BIGINT)) AS finished_at,
          sum(rows_loaded) AS rows_loaded, sum(rows_quarantined) AS rows_quarantined,
          CAST(NULL AS VARCHAR) AS error,
          to_json({{'accounts_per_tier': {{'high': 3, 'medium': 5, 'low': 7, 'none': 100}},
                    'export_date': export_date, 'new_high_risk_accounts': 2,
                    'new_high_risk_sample': ['A000001', 'A000002'],
                    'rows_loaded': sum(rows_loaded),
                    'rows_quarantined': sum(rows_quarantined)}})::VARCHAR AS summary
        FROM load_files GROUP BY export_date
        UNION ALL
        SELECT DATE '{START.isoformat()}' - 1, 'failed',
          TIMESTAMPTZ '{START.isoformat()} 02:00:00+00',
          TIMESTAMPTZ '{START.isoformat()} 02:01:00+00', 0, 0,
          'manifest.json: checksum of logins.csv does not match', '{{}}'
        ORDER BY export_date""")
    x("""CREATE TABLE gx_results AS
        SELECT export_date, table_name AS suite, e.expectation, e.column_name,
          NOT (e.expectation = 'expect_column_values_to_match_regex' AND rows_quarantined > 3)
            AS success,
          CASE WHEN e.expectation = 'expect_column_values_to_match_regex'
               THEN rows_quarantined ELSE 0 END AS unexpected_count,
          '{"observed": "see quarantine"}' AS details
        FROM load_files CROSS JOIN (VALUES
          ('expect_column_values_to_not_be_null', 'id'),
          ('expect_column_values_to_match_regex', 'hash'),
          ('expect_table_row_count_to_equal', NULL)) e(expectation, column_name)
        ORDER BY 1, 2, 3""")
    x("""CREATE TABLE quarantine AS
        SELECT f.export_date, f.table_name, f.file_name, CAST(10 + q.q * 17 AS BIGINT) AS line,
          'country' AS column_name, 'format:country' AS rule,
          'value is not an ISO 3166-1 alpha-2 code' AS reason,
          '{"country": "<script>alert(1)</script>"}' AS record
        FROM load_files f JOIN range(0, 10) q(q) ON q.q < f.rows_quarantined
        ORDER BY 1, 2, 4""")
