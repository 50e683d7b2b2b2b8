-- DuckDB views over mailcensus scans: the three datasets and the common questions.
--
-- Set the variable mailcensus_root to one scan directory (--out DIR) or to a folder of many scans
-- laid out as Hive partitions (scans/scan_date=2026-12-01/, scans/scan_date=2027-01-05/ ...), then
-- run this file:
--
--   duckdb -cmd "set variable mailcensus_root = 'scans'" -init sql/views.sql
--   con.execute("set variable mailcensus_root = 'scans'"); con.execute(open("sql/views.sql").read())
--
-- Scans of different schema versions combine (union_by_name: a column a scan lacks reads as null).
-- Every row carries scan_id and scan_date, so the views group by scan as well as by group.

create or replace view domains as
select * from read_parquet(getvariable('mailcensus_root') || '/**/domains/*.parquet', union_by_name = true);

create or replace view mx_hosts as
select * from read_parquet(getvariable('mailcensus_root') || '/**/mx_hosts/*.parquet', union_by_name = true);

create or replace view client_endpoints as
select * from read_parquet(getvariable('mailcensus_root') || '/**/client_endpoints/*.parquet', union_by_name = true);

-- Per scan and group: how many domains accept mail, and the shares of the four columns of the guide
-- (the report's definitions: a share is of the domains where the answer is known).
create or replace view group_summary as
select
    scan_date,
    scan_id,
    coalesce("group", '(no group)') as group_name,
    count(*) as domains,
    count(*) filter (where starttls in ('all', 'some', 'none')) as domains_answering,
    round(avg(case when starttls in ('all', 'some', 'none') then (starttls = 'all')::int end), 4) as share_starttls_all,
    round(avg(gmail_red_lock::int), 4) as share_red_padlock,
    round(avg(case when spf_outcome in ('valid', 'none', 'permerror') then (spf_outcome = 'valid')::int end), 4) as share_spf_valid,
    round(avg(case when dmarc_status in ('valid', 'none', 'multiple_records', 'syntax_error')
                   then (dmarc_policy in ('quarantine', 'reject'))::int end), 4) as share_dmarc_enforcing,
    round(avg(case when dkim_status in ('found', 'not_found', 'revoked') then (dkim_status = 'found')::int end), 4) as share_dkim_found,
    round(avg(case when client_tls in ('all', 'some', 'none') then (client_tls = 'all')::int end), 4) as share_client_tls_all
from domains
group by all
order by scan_date, domains desc;

-- Per scan and mail provider (registrable domain of the primary MX).
create or replace view provider_summary as
select
    scan_date,
    coalesce(mx_provider, '(no MX)') as provider,
    count(*) as domains,
    round(avg(case when starttls in ('all', 'some', 'none') then (starttls = 'all')::int end), 4) as share_starttls_all,
    round(avg(gmail_red_lock::int), 4) as share_red_padlock
from domains
group by all
order by scan_date, domains desc;

-- Why MX probes failed: phase and reason, counted once per (host, address) probed.
create or replace view probe_failures as
select scan_date, probe_phase, probe_reason, count(*) as probes
from mx_hosts
where probe_status = 'failed' and coalesce(probe_source, 'own') = 'own' and not probe_cached
group by all
order by scan_date, probes desc;

-- Domains whose mail travels unencrypted (Gmail's red padlock), with the MX hosts concerned.
create or replace view red_padlock_domains as
select d.scan_date, d.domain, d."group" as group_name, d.mx_provider,
       list(distinct m.mx_host order by m.mx_host) as mx_hosts
from domains d join mx_hosts m using (scan_id, domain)
where d.gmail_red_lock
group by all
order by d.scan_date, d.domain;

-- Each domain's STARTTLS summary across scans (one row per domain and scan), for trends.
create or replace view domain_trend as
select domain, scan_date, starttls, tls_cert_valid, spf_outcome, dmarc_policy, dkim_status,
       lag(starttls) over (partition by domain order by scan_date) as starttls_before
from domains
order by domain, scan_date;
