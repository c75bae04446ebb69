"""The transfer core as one PL/pgSQL function, so a posting is one round trip: lock the
accounts in id order, check currencies and zero sums, write the transaction and its entries
with each account's next hash-chain link, update balances. The `no_overdraft` check
constraint refuses a balance that may not go negative. Migration 0100_wallet installs it;
`ehb bench ledger` calls the same function for its raw-SQL baseline."""

WALLET_POST_FUNCTION = r"""
CREATE OR REPLACE FUNCTION wallet_post(p_kind text, p_description text, p_initiated_by bigint,
                                       p_details jsonb, p_reverses bigint,
                                       p_accounts bigint[], p_amounts bigint[])
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_tx bigint;
  v_now timestamptz := clock_timestamp();
  v_micros bigint := (extract(epoch FROM v_now) * 1000000)::bigint;
  v_n int := coalesce(array_length(p_accounts, 1), 0);
  r record;
  v_bal bigint; v_seq bigint; v_hash text; v_cur text;
BEGIN
  IF v_n < 2 OR v_n <> coalesce(array_length(p_amounts, 1), 0) THEN
    RAISE EXCEPTION 'a transaction needs two or more postings' USING ERRCODE = 'EHB10';
  END IF;
  IF EXISTS (SELECT 1 FROM unnest(p_amounts) a WHERE a IS NULL OR a = 0) THEN
    RAISE EXCEPTION 'posting amounts must be non-zero' USING ERRCODE = 'EHB11';
  END IF;
  -- Lock every account in id order: concurrent posters cannot deadlock.
  PERFORM 1 FROM wallet_accounts WHERE id = ANY(p_accounts) ORDER BY id FOR UPDATE;
  IF (SELECT count(*) FROM wallet_accounts WHERE id = ANY(p_accounts))
     <> (SELECT count(DISTINCT x) FROM unnest(p_accounts) x) THEN
    RAISE EXCEPTION 'unknown account in postings' USING ERRCODE = 'EHB12';
  END IF;
  IF EXISTS (SELECT 1 FROM unnest(p_accounts, p_amounts) AS p(acc, amt)
             JOIN wallet_accounts a ON a.id = p.acc GROUP BY a.currency HAVING sum(p.amt) <> 0) THEN
    RAISE EXCEPTION 'postings do not sum to zero per currency' USING ERRCODE = 'EHB13';
  END IF;
  INSERT INTO wallet_transactions (kind, description, initiated_by, details, reverses_id, created_at)
  VALUES (p_kind, coalesce(p_description, ''), p_initiated_by, coalesce(p_details, '{}'::jsonb),
          p_reverses, v_now)
  RETURNING id INTO v_tx;
  FOR r IN SELECT p.acc, p.amt FROM unnest(p_accounts, p_amounts) WITH ORDINALITY AS p(acc, amt, ord)
           ORDER BY p.ord LOOP
    UPDATE wallet_accounts a
       SET balance = a.balance + r.amt,
           last_seq = a.last_seq + 1,
           last_hash = encode(sha256(convert_to(concat_ws('|', a.last_hash, a.id, a.last_seq + 1,
                         v_tx, r.amt, a.currency, a.balance + r.amt, v_micros), 'UTF8')), 'hex')
     WHERE a.id = r.acc
     RETURNING a.balance, a.last_seq, a.last_hash, a.currency INTO v_bal, v_seq, v_hash, v_cur;
    INSERT INTO wallet_entries (transaction_id, account_id, seq, amount, currency, balance_after,
                                hash, created_at)
    VALUES (v_tx, r.acc, v_seq, r.amt, v_cur, v_bal, v_hash, v_now);
  END LOOP;
  RETURN v_tx;
END $$;
"""

# A user-to-user transfer behind an idempotency key, whole, in one round trip: the key row
# first (a concurrent twin waits on its unique index, then replays), the two wallets, the
# posting, the stored response. Returns {"replayed", "status", "body"}.
WALLET_TRANSFER_FUNCTION = r"""
CREATE OR REPLACE FUNCTION wallet_transfer(p_owner text, p_key text, p_request_hash text,
                                           p_from_user bigint, p_to_user bigint, p_amount bigint,
                                           p_currency text, p_description text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_key bigint; v_row idempotency_keys%ROWTYPE; v_src bigint; v_dst bigint; v_tx bigint;
  v_body jsonb;
BEGIN
  INSERT INTO idempotency_keys (owner, key, scope, request_hash)
  VALUES (p_owner, p_key, 'wallet.transfer', p_request_hash)
  ON CONFLICT ON CONSTRAINT uq_idempotency_keys_owner_key DO NOTHING RETURNING id INTO v_key;
  IF v_key IS NULL THEN
    SELECT * INTO v_row FROM idempotency_keys WHERE owner = p_owner AND key = p_key;
    IF v_row.request_hash <> p_request_hash THEN
      RAISE EXCEPTION 'this Idempotency-Key was already used with a different request; use a new key for a new request'
        USING ERRCODE = 'EHB40';
    END IF;
    RETURN jsonb_build_object('replayed', true, 'status', v_row.response_status,
                              'body', v_row.response_body);
  END IF;
  SELECT id INTO v_src FROM wallet_accounts WHERE code = 'user:' || p_from_user || ':' || p_currency;
  IF v_src IS NULL THEN
    RAISE EXCEPTION 'your account has no % wallet', p_currency USING ERRCODE = 'EHB30';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM users WHERE id = p_to_user) THEN
    RAISE EXCEPTION 'recipient not found' USING ERRCODE = 'EHB31';
  END IF;
  SELECT id INTO v_dst FROM wallet_accounts WHERE code = 'user:' || p_to_user || ':' || p_currency;
  IF v_dst IS NULL THEN
    RAISE EXCEPTION 'the recipient has no % wallet', p_currency USING ERRCODE = 'EHB32';
  END IF;
  v_tx := wallet_post('transfer', p_description, p_from_user,
                      jsonb_build_object('from_user_id', p_from_user, 'to_user_id', p_to_user),
                      NULL, ARRAY[v_src, v_dst], ARRAY[-p_amount, p_amount]);
  v_body := jsonb_build_object(
    'id', v_tx, 'kind', 'transfer', 'description', coalesce(p_description, ''),
    'created_at', (SELECT created_at FROM wallet_transactions WHERE id = v_tx),
    'reverses_id', NULL,
    'postings', jsonb_build_array(
      jsonb_build_object('account_id', v_src, 'user_id', p_from_user, 'account_kind', 'user',
                         'currency', p_currency, 'amount', -p_amount),
      jsonb_build_object('account_id', v_dst, 'user_id', p_to_user, 'account_kind', 'user',
                         'currency', p_currency, 'amount', p_amount)));
  UPDATE idempotency_keys SET response_status = 201, response_body = v_body, completed_at = now()
   WHERE id = v_key;
  RETURN jsonb_build_object('replayed', false, 'status', 201, 'body', v_body);
END $$;
"""

# The same, fraud-scored at write time (revision 0210_trusty): `fraud_assess` scores the
# attempt and every decision is recorded (a refusal, e.g. overdraft, rolls it back with
# everything else): allow posts (201), review opens a fraud case and posts nothing until
# support approves (202), block posts nothing (403, error body; the API fills in the request
# id). The stored response is
# replayed for the key whatever the decision. `ehb bench ledger` calls this on its raw side.
WALLET_TRANSFER_SCORED_FUNCTION = r"""
CREATE OR REPLACE FUNCTION wallet_transfer(p_owner text, p_key text, p_request_hash text,
                                           p_from_user bigint, p_to_user bigint, p_amount bigint,
                                           p_currency text, p_description text,
                                           p_client_ip text, p_device_id text, p_fraud_rules jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_key bigint; v_row idempotency_keys%ROWTYPE; v_src bigint; v_dst bigint; v_tx bigint;
  v_body jsonb; v_status int; v_fraud jsonb; v_decision text; v_decision_id bigint;
  v_case bigint; v_score int;
BEGIN
  INSERT INTO idempotency_keys (owner, key, scope, request_hash)
  VALUES (p_owner, p_key, 'wallet.transfer', p_request_hash)
  ON CONFLICT ON CONSTRAINT uq_idempotency_keys_owner_key DO NOTHING RETURNING id INTO v_key;
  IF v_key IS NULL THEN
    SELECT * INTO v_row FROM idempotency_keys WHERE owner = p_owner AND key = p_key;
    IF v_row.request_hash <> p_request_hash THEN
      RAISE EXCEPTION 'this Idempotency-Key was already used with a different request; use a new key for a new request'
        USING ERRCODE = 'EHB40';
    END IF;
    RETURN jsonb_build_object('replayed', true, 'status', v_row.response_status,
                              'body', v_row.response_body);
  END IF;
  SELECT id INTO v_src FROM wallet_accounts WHERE code = 'user:' || p_from_user || ':' || p_currency;
  IF v_src IS NULL THEN
    RAISE EXCEPTION 'your account has no % wallet', p_currency USING ERRCODE = 'EHB30';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM users WHERE id = p_to_user) THEN
    RAISE EXCEPTION 'recipient not found' USING ERRCODE = 'EHB31';
  END IF;
  SELECT id INTO v_dst FROM wallet_accounts WHERE code = 'user:' || p_to_user || ':' || p_currency;
  IF v_dst IS NULL THEN
    RAISE EXCEPTION 'the recipient has no % wallet', p_currency USING ERRCODE = 'EHB32';
  END IF;
  v_fraud := fraud_assess(p_from_user, p_to_user, p_amount, p_client_ip, p_device_id,
                          p_fraud_rules);
  v_decision := v_fraud->>'decision';
  v_score := (v_fraud->>'score')::int;
  v_decision_id := nextval(pg_get_serial_sequence('fraud_decisions', 'id'));
  IF v_decision = 'allow' THEN
    -- Post first: the accounts are locked (in id order) before the decision row's trigger
    -- locks the velocity counters, the order every writer takes (see protected_transfer).
    v_tx := wallet_post('transfer', p_description, p_from_user,
                        jsonb_build_object('from_user_id', p_from_user, 'to_user_id', p_to_user,
                                           'fraud_decision', v_decision_id),
                        NULL, ARRAY[v_src, v_dst], ARRAY[-p_amount, p_amount]);
  END IF;
  INSERT INTO fraud_decisions (id, user_id, action, counterparty_id, amount, currency,
                               client_ip, device_id, score, decision, reasons, outcome)
  VALUES (v_decision_id, p_from_user, 'wallet_transfer', p_to_user, p_amount, p_currency,
          p_client_ip, p_device_id, v_score, v_decision, v_fraud->'reasons',
          CASE v_decision WHEN 'allow' THEN 'posted' WHEN 'review' THEN 'held' ELSE 'refused' END);
  IF v_decision = 'block' THEN
    v_status := 403;
    v_body := jsonb_build_object('error', jsonb_build_object(
      'code', 'fraud_blocked', 'message', 'this transfer was blocked by fraud checks',
      'details', jsonb_build_object('decision_id', v_decision_id, 'score', v_score,
                                    'decision', v_decision, 'reasons', v_fraud->'reasons'),
      'request_id', NULL));
  ELSIF v_decision = 'review' THEN
    INSERT INTO fraud_cases (decision_id, user_id, to_user_id, amount, currency, status, note)
    VALUES (v_decision_id, p_from_user, p_to_user, p_amount, p_currency, 'open', '')
    RETURNING id INTO v_case;
    v_status := 202;
    v_body := jsonb_build_object('status', 'held_for_review', 'fraud_case_id', v_case,
                                 'decision_id', v_decision_id, 'score', v_score,
                                 'decision', v_decision);
  ELSE
    v_status := 201;
    v_body := jsonb_build_object(
      'id', v_tx, 'kind', 'transfer', 'description', coalesce(p_description, ''),
      'created_at', (SELECT created_at FROM wallet_transactions WHERE id = v_tx),
      'reverses_id', NULL,
      'postings', jsonb_build_array(
        jsonb_build_object('account_id', v_src, 'user_id', p_from_user, 'account_kind', 'user',
                           'currency', p_currency, 'amount', -p_amount),
        jsonb_build_object('account_id', v_dst, 'user_id', p_to_user, 'account_kind', 'user',
                           'currency', p_currency, 'amount', p_amount)));
  END IF;
  UPDATE idempotency_keys SET response_status = v_status, response_body = v_body,
                              completed_at = now()
   WHERE id = v_key;
  RETURN jsonb_build_object('replayed', false, 'status', v_status, 'body', v_body);
END $$;
"""

DROP_SCORED_TRANSFER_SQL = r"""
DROP FUNCTION IF EXISTS wallet_transfer(text, text, text, bigint, bigint, bigint, text, text,
                                        text, text, jsonb);
"""
DROP_UNSCORED_TRANSFER_SQL = r"""
DROP FUNCTION IF EXISTS wallet_transfer(text, text, text, bigint, bigint, bigint, text, text);
"""

# Entries are append-only: the database itself refuses UPDATE and DELETE on them.
APPEND_ONLY_TRIGGER = r"""
CREATE OR REPLACE FUNCTION wallet_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: post a reversing transaction instead', TG_TABLE_NAME
    USING ERRCODE = 'EHB20';
END $$;
CREATE TRIGGER trg_wallet_entries_append_only BEFORE UPDATE OR DELETE ON wallet_entries
  FOR EACH ROW EXECUTE FUNCTION wallet_append_only();
CREATE TRIGGER trg_wallet_transactions_append_only BEFORE UPDATE OR DELETE ON wallet_transactions
  FOR EACH ROW EXECUTE FUNCTION wallet_append_only();
"""

DROP_SQL = r"""
DROP TRIGGER IF EXISTS trg_wallet_entries_append_only ON wallet_entries;
DROP TRIGGER IF EXISTS trg_wallet_transactions_append_only ON wallet_transactions;
DROP FUNCTION IF EXISTS wallet_append_only();
DROP FUNCTION IF EXISTS wallet_transfer(text, text, text, bigint, bigint, bigint, text, text);
DROP FUNCTION IF EXISTS wallet_post(text, text, bigint, jsonb, bigint, bigint[], bigint[]);
"""
