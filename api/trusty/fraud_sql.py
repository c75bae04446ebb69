"""The fraud rules in SQL, so a transfer is scored inside the same round trip that posts it
(`wallet_transfer`) and the protected trusty transfer uses the very same rules.

Cheap by construction, whatever the thresholds: velocity reads per-minute counters
(`fraud_velocity`, at most window+1 rows per subject) kept by a trigger on every inserted
decision; the history average reads one `fraud_user_stats` row; the new-counterparty and
failed-attempts rules use partial indexes, the latter counting only up to its threshold.
Velocity counts whole minutes, so the window may reach up to a minute further back.
Thresholds come in as `p_rules` (jsonb of FraudSettings) from the caller."""

FRAUD_TABLES_SQL = r"""
CREATE TABLE fraud_velocity (
  subject text NOT NULL,
  minute timestamptz NOT NULL,
  n bigint NOT NULL,
  CONSTRAINT pk_fraud_velocity PRIMARY KEY (subject, minute)
);
CREATE TABLE fraud_user_stats (
  user_id bigint NOT NULL,
  posted_n bigint NOT NULL,
  posted_sum bigint NOT NULL,
  CONSTRAINT pk_fraud_user_stats PRIMARY KEY (user_id)
);
CREATE INDEX ix_fraud_decisions_user_counterparty_posted ON fraud_decisions (user_id, counterparty_id)
  WHERE outcome = 'posted';
CREATE INDEX ix_fraud_decisions_user_failures ON fraud_decisions (user_id, created_at)
  WHERE outcome IN ('refused', 'failed');
-- The counters answer velocity now: these two cost an insert each per decision, read by none.
DROP INDEX ix_fraud_decisions_ip_time;
DROP INDEX ix_fraud_decisions_device_time;
-- Decisions recorded before this revision count too.
INSERT INTO fraud_velocity (subject, minute, n)
SELECT s, date_trunc('minute', created_at), count(*)
  FROM fraud_decisions, unnest(ARRAY['user:' || user_id, 'ip:' || client_ip,
                                     'device:' || device_id]) s
 WHERE s IS NOT NULL AND created_at >= now() - interval '1 day'
 GROUP BY 1, 2;
INSERT INTO fraud_user_stats (user_id, posted_n, posted_sum)
SELECT user_id, count(*), sum(amount) FROM fraud_decisions WHERE outcome = 'posted' GROUP BY 1;
"""

FRAUD_COUNTERS_TRIGGER = r"""
CREATE OR REPLACE FUNCTION fraud_decision_counters() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    -- user, then ip, then device: one fixed lock order for concurrent writers.
    INSERT INTO fraud_velocity AS v (subject, minute, n)
    SELECT s, date_trunc('minute', NEW.created_at), 1
      FROM unnest(ARRAY['user:' || NEW.user_id, 'ip:' || NEW.client_ip,
                        'device:' || NEW.device_id]) WITH ORDINALITY AS t(s, ord)
     WHERE s IS NOT NULL ORDER BY ord
    ON CONFLICT (subject, minute) DO UPDATE SET n = v.n + 1;
  END IF;
  IF NEW.outcome = 'posted' AND (TG_OP = 'INSERT' OR OLD.outcome IS DISTINCT FROM 'posted') THEN
    INSERT INTO fraud_user_stats AS st (user_id, posted_n, posted_sum)
    VALUES (NEW.user_id, 1, NEW.amount)
    ON CONFLICT (user_id) DO UPDATE SET posted_n = st.posted_n + 1,
                                        posted_sum = st.posted_sum + EXCLUDED.posted_sum;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER trg_fraud_decisions_counters AFTER INSERT OR UPDATE OF outcome ON fraud_decisions
  FOR EACH ROW EXECUTE FUNCTION fraud_decision_counters();
"""

# Returns {"score", "decision": allow|review|block, "reasons": [{rule, points, detail}]}.
FRAUD_ASSESS_FUNCTION = r"""
CREATE OR REPLACE FUNCTION fraud_recent(p_subject text, p_minutes int, p_now timestamptz)
RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT coalesce(sum(n), 0)::bigint FROM fraud_velocity
   WHERE subject = p_subject
     AND minute >= date_trunc('minute', p_now - make_interval(mins => p_minutes))
     AND minute <= p_now
$$;

-- p_now is the scoring time: the transaction's by default; the simulator passes its clock (and
-- records its decisions at that time), so rate rules see simulated time consistently.
CREATE OR REPLACE FUNCTION fraud_assess(p_user bigint, p_counterparty bigint, p_amount bigint,
                                        p_client_ip text, p_device_id text, p_rules jsonb,
                                        p_now timestamptz DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_now timestamptz := coalesce(p_now, now());
  v_window int := (p_rules->>'window_minutes')::int;
  v_score int := 0;
  v_reasons jsonb := '[]'::jsonb;
  v_n bigint; v_hist_n bigint; v_hist_sum bigint; v_max int;
  v_subjects text[] := ARRAY['ip', p_client_ip, 'device', p_device_id];
BEGIN
  v_n := fraud_recent('user:' || p_user, v_window, v_now);
  IF v_n >= (p_rules->>'max_user_attempts')::int THEN
    v_score := v_score + 40;
    v_reasons := v_reasons || jsonb_build_object('rule', 'velocity_user', 'points', 40,
      'detail', format('%s attempts in %s min', v_n, v_window));
  END IF;
  FOR i IN 1..2 LOOP
    IF v_subjects[2 * i] IS NOT NULL AND v_subjects[2 * i] <> '' THEN
      v_n := fraud_recent(v_subjects[2 * i - 1] || ':' || v_subjects[2 * i], v_window,
                            v_now);
      IF v_n >= (p_rules->>'max_source_attempts')::int THEN
        v_score := v_score + 40;
        v_reasons := v_reasons || jsonb_build_object('rule', 'velocity_' || v_subjects[2 * i - 1],
          'points', 40, 'detail', format('%s attempts from this %s in %s min', v_n,
                                         v_subjects[2 * i - 1], v_window));
      END IF;
    END IF;
  END LOOP;
  SELECT posted_n, posted_sum INTO v_hist_n, v_hist_sum FROM fraud_user_stats WHERE user_id = p_user;
  v_hist_n := coalesce(v_hist_n, 0);
  IF v_hist_n >= 3
     AND p_amount > (p_rules->>'history_multiplier')::bigint * (v_hist_sum / v_hist_n) THEN
    v_score := v_score + 35;
    v_reasons := v_reasons || jsonb_build_object('rule', 'amount_above_history', 'points', 35,
      'detail', format('%s is over %sx the average of %s past transfers', p_amount,
                       p_rules->>'history_multiplier', v_hist_n));
  ELSIF v_hist_n < 3 AND p_amount >= (p_rules->>'first_large_amount')::bigint THEN
    v_score := v_score + 35;
    v_reasons := v_reasons || jsonb_build_object('rule', 'amount_above_history', 'points', 35,
      'detail', 'large amount with little history');
  END IF;
  IF p_counterparty IS NOT NULL AND p_amount >= (p_rules->>'new_counterparty_large')::bigint
     AND NOT EXISTS (SELECT 1 FROM fraud_decisions WHERE user_id = p_user
                       AND counterparty_id = p_counterparty AND outcome = 'posted') THEN
    v_score := v_score + 30;
    v_reasons := v_reasons || jsonb_build_object('rule', 'new_counterparty_large', 'points', 30,
      'detail', 'large amount to a new counterparty');
  END IF;
  v_max := (p_rules->>'max_failures_per_hour')::int;
  SELECT count(*) INTO v_n FROM (
    SELECT 1 FROM fraud_decisions WHERE user_id = p_user AND outcome IN ('refused', 'failed')
       AND created_at >= v_now - interval '1 hour' AND created_at <= v_now LIMIT v_max) f;
  IF v_n >= v_max THEN
    v_score := v_score + 50;
    v_reasons := v_reasons || jsonb_build_object('rule', 'failed_attempts', 'points', 50,
      'detail', format('%s failed attempts in the last hour', v_n));
  END IF;
  RETURN jsonb_build_object('score', v_score, 'reasons', v_reasons, 'decision',
    CASE WHEN v_score >= (p_rules->>'block_score')::int THEN 'block'
         WHEN v_score >= (p_rules->>'review_score')::int THEN 'review' ELSE 'allow' END);
END $$;
"""

DROP_FRAUD_SQL = r"""
DROP TRIGGER IF EXISTS trg_fraud_decisions_counters ON fraud_decisions;
DROP FUNCTION IF EXISTS fraud_decision_counters();
DROP FUNCTION IF EXISTS fraud_assess(bigint, bigint, bigint, text, text, jsonb, timestamptz);
DROP FUNCTION IF EXISTS fraud_recent(text, int, timestamptz);
DROP INDEX IF EXISTS ix_fraud_decisions_user_failures;
CREATE INDEX ix_fraud_decisions_ip_time ON fraud_decisions (client_ip, created_at);
CREATE INDEX ix_fraud_decisions_device_time ON fraud_decisions (device_id, created_at);
DROP INDEX IF EXISTS ix_fraud_decisions_user_counterparty_posted;
DROP TABLE IF EXISTS fraud_user_stats;
DROP TABLE IF EXISTS fraud_velocity;
"""
