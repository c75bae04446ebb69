"""The gateway's counters as PL/pgSQL (installed by migration 0900_ai), so a reservation is
one round trip and cannot be raced: the key row is locked (rate window, budget), then the
buyer's hold row (money promised to calls in flight), and only then the wallet balance is
read. Settlement and release take the same locks in the same order (call, key, hold), after
the ledger posting has locked the wallet accounts; nothing locks in the opposite order, so
concurrent calls serialize per key and per buyer without deadlocks.

Refusals are raised with SQLSTATEs EHA01..EHA12 (api.ai.gateway maps them to 401/403/402/
409/422/429); a refused reservation changes nothing."""

RESERVE_FUNCTION = r"""
CREATE OR REPLACE FUNCTION ai_reserve(p_prefix text, p_hash text, p_services bigint[],
                                      p_endpoints bigint[], p_currency text, p_amount bigint,
                                      p_tokens bigint, p_request_key text, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  k ai_api_keys%ROWTYPE;
  v_window timestamptz := date_trunc('minute', p_now);
  v_period timestamptz;
  v_requests bigint; v_tokens bigint; v_spent bigint;
  v_reserved bigint; v_wallet bigint; v_balance bigint; v_call bigint; v_existing record;
BEGIN
  SELECT * INTO k FROM ai_api_keys WHERE prefix = p_prefix FOR UPDATE;
  IF NOT FOUND OR k.secret_hash <> p_hash THEN
    RAISE EXCEPTION 'unknown API key' USING ERRCODE = 'EHA01';
  END IF;
  IF k.revoked_at IS NOT NULL THEN
    RAISE EXCEPTION 'this API key was revoked' USING ERRCODE = 'EHA02';
  END IF;
  IF k.expires_at IS NOT NULL AND k.expires_at <= p_now THEN
    RAISE EXCEPTION 'this API key expired at %', k.expires_at USING ERRCODE = 'EHA03';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM users WHERE id = k.user_id AND is_active) THEN
    RAISE EXCEPTION 'the account of this API key is disabled' USING ERRCODE = 'EHA04';
  END IF;
  IF NOT k.all_services AND NOT (p_services <@ k.service_ids) THEN
    RAISE EXCEPTION 'this API key is not scoped to the service' USING ERRCODE = 'EHA05',
      DETAIL = (SELECT string_agg(s::text, ',') FROM unnest(p_services) s
                WHERE NOT s = ANY(k.service_ids));
  END IF;
  IF k.currency <> p_currency THEN
    RAISE EXCEPTION 'this API key spends %, the service is priced in %', k.currency, p_currency
      USING ERRCODE = 'EHA06';
  END IF;
  IF p_request_key IS NOT NULL THEN
    SELECT id, status INTO v_existing FROM ai_calls
     WHERE key_id = k.id AND request_key = p_request_key AND status <> 'failed';
    IF FOUND THEN
      RAISE EXCEPTION 'this Idempotency-Key was already used by call % (%)', v_existing.id,
        v_existing.status USING ERRCODE = 'EHA12', DETAIL = v_existing.id::text;
    END IF;
  END IF;
  -- requests and tokens per minute: a fixed window per UTC minute
  IF k.window_start IS DISTINCT FROM v_window THEN
    v_requests := 0; v_tokens := 0;
  ELSE
    v_requests := k.window_requests; v_tokens := k.window_tokens;
  END IF;
  IF k.rpm IS NOT NULL AND v_requests + 1 > k.rpm THEN
    RAISE EXCEPTION 'this API key allows % requests a minute', k.rpm USING ERRCODE = 'EHA07',
      DETAIL = ceil(extract(epoch FROM v_window + interval '1 minute' - p_now))::int::text;
  END IF;
  IF k.tpm IS NOT NULL AND v_tokens + p_tokens > k.tpm THEN
    RAISE EXCEPTION 'this API key allows % tokens a minute (this call: %)', k.tpm, p_tokens
      USING ERRCODE = 'EHA08',
      DETAIL = ceil(extract(epoch FROM v_window + interval '1 minute' - p_now))::int::text;
  END IF;
  -- the spend budget of the current period (day/week/month, UTC); it resets when a new one starts
  v_spent := k.budget_spent;
  IF k.budget_period IS NOT NULL THEN
    v_period := date_trunc(k.budget_period, p_now AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    IF k.budget_period_start IS DISTINCT FROM v_period THEN
      v_spent := 0;
    END IF;
    IF v_spent + k.budget_reserved + p_amount > k.budget_minor THEN
      RAISE EXCEPTION 'this call (% minor units) would exceed the key''s % budget: % of % spent, % reserved',
        p_amount, k.budget_period, v_spent, k.budget_minor, k.budget_reserved
        USING ERRCODE = 'EHA09',
        DETAIL = ceil(extract(epoch FROM (v_period + ('1 ' || k.budget_period)::interval)
                              - p_now))::bigint::text;
    END IF;
  END IF;
  -- the buyer's money: wallet balance minus what calls in flight already promised
  INSERT INTO ai_wallet_holds (user_id, currency, reserved) VALUES (k.user_id, p_currency, 0)
  ON CONFLICT DO NOTHING;
  SELECT reserved INTO v_reserved FROM ai_wallet_holds
   WHERE user_id = k.user_id AND currency = p_currency FOR UPDATE;
  SELECT id, balance INTO v_wallet, v_balance FROM wallet_accounts
   WHERE code = 'user:' || k.user_id || ':' || p_currency;
  IF v_wallet IS NULL AND p_amount > 0 THEN
    RAISE EXCEPTION 'no % wallet to pay for AI calls', p_currency USING ERRCODE = 'EHA10';
  END IF;
  IF p_amount > 0 AND v_balance - v_reserved < p_amount THEN
    RAISE EXCEPTION 'insufficient balance: this call needs % minor units, % available',
      p_amount, v_balance - v_reserved USING ERRCODE = 'EHA11';
  END IF;
  UPDATE ai_api_keys SET window_start = v_window, window_requests = v_requests + 1,
         window_tokens = v_tokens + p_tokens, budget_period_start = v_period,
         budget_spent = v_spent, budget_reserved = budget_reserved + p_amount,
         last_used_at = p_now
   WHERE id = k.id;
  UPDATE ai_wallet_holds SET reserved = reserved + p_amount
   WHERE user_id = k.user_id AND currency = p_currency;
  INSERT INTO ai_calls (key_id, buyer_user_id, service_id, request_key, status, currency,
                        reserved_minor, tokens, created_at, updated_at)
  VALUES (k.id, k.user_id, p_services[1], coalesce(p_request_key, gen_random_uuid()::text),
          'reserved', p_currency, p_amount, p_tokens, p_now, p_now)
  RETURNING id INTO v_call;
  RETURN jsonb_build_object(
    'call_id', v_call, 'key_id', k.id, 'user_id', k.user_id, 'wallet_account_id', v_wallet,
    'endpoints', coalesce((SELECT jsonb_agg(jsonb_build_object(
        'id', e.id, 'in_rotation', e.in_rotation, 'out_until', e.out_until,
        'failures', e.consecutive_failures))
      FROM ai_endpoints e WHERE e.id = ANY(p_endpoints)), '[]'::jsonb));
END $$;
"""

# Moves a reserved call to succeeded (once: the status guard) and its reservation off the
# key's and the buyer's counters; the caller has posted the ledger transaction in the same
# database transaction and rolls it back when this returns false.
SETTLE_FUNCTION = r"""
CREATE OR REPLACE FUNCTION ai_settle(p_call bigint, p_version bigint, p_provider bigint,
                                     p_charge bigint, p_provider_amount bigint, p_fee bigint,
                                     p_tokens bigint, p_latency_ms double precision,
                                     p_provider_latency_ms double precision, p_attempts int,
                                     p_fallback boolean, p_tx bigint, p_now timestamptz)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE c record; v_period timestamptz; k ai_api_keys%ROWTYPE;
BEGIN
  -- a fallback's call is counted for the service that answered
  UPDATE ai_calls SET status = 'succeeded', version_id = p_version, provider_user_id = p_provider,
         service_id = (SELECT service_id FROM ai_service_versions WHERE id = p_version),
         charge_minor = p_charge, provider_minor = p_provider_amount, fee_minor = p_fee,
         tokens = p_tokens, latency_ms = p_latency_ms, provider_latency_ms = p_provider_latency_ms,
         attempts = p_attempts, fallback_used = p_fallback, ledger_transaction_id = p_tx,
         settled_at = p_now
   WHERE id = p_call AND status = 'reserved'
  RETURNING key_id, buyer_user_id, currency, reserved_minor INTO c;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  SELECT * INTO k FROM ai_api_keys WHERE id = c.key_id FOR UPDATE;
  IF k.budget_period IS NOT NULL THEN
    v_period := date_trunc(k.budget_period, p_now AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  END IF;
  UPDATE ai_api_keys
     SET budget_reserved = budget_reserved - c.reserved_minor,
         budget_spent = CASE WHEN budget_period_start IS DISTINCT FROM v_period THEN 0
                             ELSE budget_spent END + p_charge,
         budget_period_start = v_period
   WHERE id = c.key_id;
  UPDATE ai_wallet_holds SET reserved = reserved - c.reserved_minor
   WHERE user_id = c.buyer_user_id AND currency = c.currency;
  RETURN true;
END $$;
"""

RELEASE_FUNCTION = r"""
CREATE OR REPLACE FUNCTION ai_release(p_call bigint, p_error text, p_version bigint,
                                      p_latency_ms double precision, p_attempts int,
                                      p_now timestamptz)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE c record;
BEGIN
  UPDATE ai_calls SET status = 'failed', error_code = p_error, version_id = p_version,
         latency_ms = p_latency_ms, attempts = p_attempts, settled_at = p_now
   WHERE id = p_call AND status = 'reserved'
  RETURNING key_id, buyer_user_id, currency, reserved_minor INTO c;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  UPDATE ai_api_keys SET budget_reserved = budget_reserved - c.reserved_minor WHERE id = c.key_id;
  UPDATE ai_wallet_holds SET reserved = reserved - c.reserved_minor
   WHERE user_id = c.buyer_user_id AND currency = c.currency;
  RETURN true;
END $$;
"""

# Versions are immutable: only the sunset date may change, and none is ever deleted.
IMMUTABLE_VERSIONS = r"""
CREATE OR REPLACE FUNCTION ai_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR (to_jsonb(NEW) - 'sunset_at') IS DISTINCT FROM (to_jsonb(OLD) - 'sunset_at') THEN
    RAISE EXCEPTION 'service versions are immutable: publish a new version instead'
      USING ERRCODE = 'EHA20';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER trg_ai_service_versions_immutable BEFORE UPDATE OR DELETE ON ai_service_versions
  FOR EACH ROW EXECUTE FUNCTION ai_versions_immutable();
"""

DROP_SQL = r"""
DROP TRIGGER IF EXISTS trg_ai_service_versions_immutable ON ai_service_versions;
DROP FUNCTION IF EXISTS ai_versions_immutable();
DROP FUNCTION IF EXISTS ai_release(bigint, text, bigint, double precision, int, timestamptz);
DROP FUNCTION IF EXISTS ai_settle(bigint, bigint, bigint, bigint, bigint, bigint, bigint,
                                  double precision, double precision, int, boolean, bigint,
                                  timestamptz);
DROP FUNCTION IF EXISTS ai_reserve(text, text, bigint[], bigint[], text, bigint, bigint, text,
                                   timestamptz);
"""
