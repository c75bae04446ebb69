"""The ledger's current SQL core, superseding the versions in ledger_sql.py (kept there as the
older revisions installed them, for their downgrades).

`wallet_post` (revision 0120_wallet) enforces wallet approval limits on every posting, so
no route, job or simulator can move more out of a wallet than its owner's multisig policy
allows without approval. A posting is refused (SQLSTATE EHB50, 403 `approval_required`)
when, in one transaction, a user's wallet (kind `user`) loses `threshold` or more of a
currency with a limit, and some of it goes to an account that is not the same user's.

What legitimately passes a user's limit:
- moves into the owner's own hold or vault accounts (the money stays theirs): the reserve of
  a trusty approval request or of a fraud review, a cold-storage deposit. Money leaves a hold
  only through the approvers' quorum (trusty requests) or support's review (fraud cases).
- `payment_refund`: a payee's wallet gives back a payment it received, to the payer who made
  it, never more than was captured (payments.refund).
- `reversal`: an operator undoing a posted transaction (service.reverse; no route).
- system accounts have no limit: fees, escrow payouts, commissions, settlements, clearing and
  adjustments post without one (a user's limit only guards money leaving that user's wallet).
Transaction kinds are chosen by service code, never by a caller.

`wallet_transfer` (revision 0220_trusty) is the API's transfer behind an Idempotency-Key, as
in ledger_sql.py, with every refusal after the key is taken (no wallet, unknown recipient,
approval required, insufficient funds) answered and stored with the key, like a success: a
retry with the same key replays the refusal instead of posting later (Stripe's rule). The
refusal is also recorded as a failed attempt for the fraud rules, in the same statement.
"""

WALLET_POST_WITH_LIMITS_FUNCTION = r"""
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
  v_over record;
  v_found bigint; v_limited bigint; v_debit bigint;
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
  -- The accounts found, and how many of them are wallets with an approval limit (an index
  -- probe each, in the same statement).
  SELECT count(*), count(l.user_id) INTO v_found, v_limited
    FROM wallet_accounts a
    LEFT JOIN wallet_approval_limits l
      ON a.kind = 'user' AND l.user_id = a.user_id AND l.currency = a.currency
   WHERE a.id = ANY(p_accounts);
  IF v_found <> (SELECT count(DISTINCT x) FROM unnest(p_accounts) x) THEN
    RAISE EXCEPTION 'unknown account in postings' USING ERRCODE = 'EHB12';
  END IF;
  IF EXISTS (SELECT 1 FROM unnest(p_accounts, p_amounts) AS p(acc, amt)
             JOIN wallet_accounts a ON a.id = p.acc GROUP BY a.currency HAVING sum(p.amt) <> 0) THEN
    RAISE EXCEPTION 'postings do not sum to zero per currency' USING ERRCODE = 'EHB13';
  END IF;
  -- Approval limits: a wallet losing its owner's threshold or more to someone else's account.
  IF v_limited > 0 AND p_kind <> ALL (ARRAY['payment_refund', 'reversal']) THEN
    FOR v_over IN
      SELECT a.id, a.user_id, a.currency, l.threshold
        FROM wallet_accounts a
        JOIN wallet_approval_limits l ON l.user_id = a.user_id AND l.currency = a.currency
       WHERE a.id = ANY(p_accounts) AND a.kind = 'user'
    LOOP
      SELECT -sum(p.amt) INTO v_debit FROM unnest(p_accounts, p_amounts) AS p(acc, amt)
       WHERE p.acc = v_over.id;
      IF v_debit >= v_over.threshold AND EXISTS (
           SELECT 1 FROM unnest(p_accounts, p_amounts) AS q(acc, amt)
             JOIN wallet_accounts b ON b.id = q.acc
            WHERE q.amt > 0 AND b.user_id IS DISTINCT FROM v_over.user_id) THEN
        RAISE EXCEPTION 'moving % % out of this wallet needs approval: its multisig policy holds % % or more for its approvers (send it through POST /api/v1/trusty/transfers)',
          v_debit, v_over.currency, v_over.threshold, v_over.currency
          USING ERRCODE = 'EHB50';
      END IF;
    END LOOP;
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

# Fraud-scored as in ledger_sql.WALLET_TRANSFER_SCORED_FUNCTION (allow posts 201, review opens
# a fraud case 202, block 403); refusals are answers now. Every check runs before anything is
# written but the key row, so a refusal needs no subtransaction: the overdraft is checked on
# the locked source account (locked with the recipient in id order, as wallet_post does, before
# the decision row's trigger locks the velocity counters), the approval limit before scoring.
WALLET_TRANSFER_ANSWERING_FUNCTION = r"""
CREATE OR REPLACE FUNCTION wallet_transfer(p_owner text, p_key text, p_request_hash text,
                                           p_from_user bigint, p_to_user bigint, p_amount bigint,
                                           p_currency text, p_description text,
                                           p_client_ip text, p_device_id text, p_fraud_rules jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_key bigint; v_row idempotency_keys%ROWTYPE; v_src bigint; v_dst bigint; v_tx bigint;
  v_body jsonb; v_status int; v_fraud jsonb; v_decision text; v_decision_id bigint;
  v_case bigint; v_score int; v_limit bigint; v_short boolean;
  v_code text; v_message text; v_details jsonb;
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
  SELECT a.id, l.threshold INTO v_src, v_limit
    FROM wallet_accounts a
    LEFT JOIN wallet_approval_limits l ON l.user_id = p_from_user AND l.currency = p_currency
   WHERE a.code = 'user:' || p_from_user || ':' || p_currency;
  SELECT id INTO v_dst FROM wallet_accounts WHERE code = 'user:' || p_to_user || ':' || p_currency;
  IF v_src IS NULL THEN
    v_status := 422; v_code := 'no_wallet';
    v_message := format('your account has no %s wallet', p_currency);
    v_details := jsonb_build_object('user_id', p_from_user, 'currency', p_currency);
  ELSIF NOT EXISTS (SELECT 1 FROM users WHERE id = p_to_user) THEN
    v_status := 404; v_code := 'recipient_not_found'; v_message := 'recipient not found';
  ELSIF v_dst IS NULL THEN
    v_status := 422; v_code := 'no_wallet';
    v_message := format('the recipient has no %s wallet', p_currency);
    v_details := jsonb_build_object('user_id', p_to_user, 'currency', p_currency);
  ELSIF p_amount >= v_limit THEN
    v_status := 403; v_code := 'approval_required';
    v_message := format('transfers of %s %s or more from this wallet need the approval of its '
                        'multisig policy: send it through POST /api/v1/trusty/transfers',
                        v_limit, p_currency);
    v_details := jsonb_build_object('threshold', v_limit, 'currency', p_currency,
                                    'route', '/api/v1/trusty/transfers');
  END IF;
  IF v_status IS NULL THEN
    v_fraud := fraud_assess(p_from_user, p_to_user, p_amount, p_client_ip, p_device_id,
                            p_fraud_rules);
    v_decision := v_fraud->>'decision';
    v_score := (v_fraud->>'score')::int;
    IF v_decision = 'allow' THEN
      SELECT bool_or(id = v_src AND balance < p_amount AND NOT allow_negative) INTO v_short
        FROM (SELECT id, balance, allow_negative FROM wallet_accounts
               WHERE id IN (v_src, v_dst) ORDER BY id FOR UPDATE) locked;
      IF v_short THEN
        v_status := 422; v_code := 'insufficient_funds';
        v_message := 'insufficient funds: the balance may not go negative';
      END IF;
    END IF;
  END IF;
  IF v_status IS NOT NULL THEN
    -- Refused: the answer is stored with the key, and counts for the failed-attempts rule.
    INSERT INTO fraud_decisions (user_id, action, counterparty_id, amount, currency, client_ip,
                                 device_id, score, decision, reasons, outcome)
    VALUES (p_from_user, 'wallet_transfer', p_to_user, p_amount, p_currency, p_client_ip,
            p_device_id, 0, 'allow', '[]'::jsonb, 'failed');
    v_body := jsonb_build_object('error', jsonb_build_object(
      'code', v_code, 'message', v_message, 'details', v_details, 'request_id', NULL));
  ELSE
    v_decision_id := nextval(pg_get_serial_sequence('fraud_decisions', 'id'));
    IF v_decision = 'allow' THEN
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
  END IF;
  UPDATE idempotency_keys SET response_status = v_status, response_body = v_body,
                              completed_at = now()
   WHERE id = v_key;
  RETURN jsonb_build_object('replayed', false, 'status', v_status, 'body', v_body);
END $$;
"""
