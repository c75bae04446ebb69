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
DROP FUNCTION IF EXISTS wallet_post(text, text, bigint, jsonb, bigint, bigint[], bigint[]);
"""
