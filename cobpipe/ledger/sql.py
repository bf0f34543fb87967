"""Every SQL statement of the ledger, in portable SQL with DB-API `?` parameters.

Only ANSI SQL plus `INSERT ... ON CONFLICT` (SQLite >= 3.24, PostgreSQL >= 9.5) is used here; the
statements that differ between databases (connection pragmas, how a write transaction starts) live
in the dialect modules (`sqlite.py`). A dialect whose driver wants another paramstyle (psycopg:
`%s`) rewrites the `?` placeholders once, in `Dialect.sql()`.

The schema is versioned: `MIGRATIONS[n]` takes a ledger from version n to n + 1, and `meta` holds
the version reached. Never edit a released migration; append a new one.
"""
from __future__ import annotations

SCHEMA_VERSION_KEY = "schema_version"

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 0 -> 1
    (
        """CREATE TABLE IF NOT EXISTS meta (
            key   VARCHAR(64) PRIMARY KEY,
            value TEXT NOT NULL
        )""",
        # One original 837P claim (Loop 2300 in its context) as X12 text (OriginalClaim.to_x12) and
        # the ISA/GS/ST ids it was read with (Envelope.to_dict as JSON).
        # Keyed by CLM01 + submitter (1000A NM109) + billed payer (2010BB NM109).
        """CREATE TABLE claims (
            claim_id     VARCHAR(38) NOT NULL,
            submitter_id VARCHAR(80) NOT NULL,
            payer_id     VARCHAR(80) NOT NULL,
            source_hash  CHAR(64),
            raw          TEXT NOT NULL,
            envelope     TEXT,
            added_at     VARCHAR(32) NOT NULL,
            PRIMARY KEY (claim_id, submitter_id, payer_id)
        )""",
        # Every input file by content hash: what it was and what became of it.
        """CREATE TABLE files (
            sha256       CHAR(64) PRIMARY KEY,
            name         TEXT NOT NULL,
            kind         VARCHAR(16) NOT NULL,
            outcome      VARCHAR(16) NOT NULL,
            reason       TEXT,
            detail       TEXT,
            processed_at VARCHAR(32) NOT NULL
        )""",
        # Outbound files written for an input, with their control numbers.
        """CREATE TABLE outputs (
            name            TEXT PRIMARY KEY,
            source_sha256   CHAR(64) NOT NULL,
            kind            VARCHAR(16) NOT NULL,
            control_numbers TEXT,
            written_at      VARCHAR(32) NOT NULL
        )""",
        # A secondary claim sent to a payer: never bill the same claim to the same payer twice.
        """CREATE TABLE issued (
            claim_id      VARCHAR(38) NOT NULL,
            payer_id      VARCHAR(80) NOT NULL,
            source_sha256 CHAR(64) NOT NULL,
            output        TEXT,
            isa13         INTEGER,
            gs06          INTEGER,
            st02          INTEGER,
            issued_at     VARCHAR(32) NOT NULL,
            PRIMARY KEY (claim_id, payer_id)
        )""",
        # What each ERA said about each claim (CLP01): converted, skipped, rejected, unmatched.
        """CREATE TABLE decisions (
            source_sha256 CHAR(64) NOT NULL,
            seq           INTEGER NOT NULL,
            claim_id      VARCHAR(38) NOT NULL,
            status        VARCHAR(16) NOT NULL,
            payer_id      VARCHAR(80),
            reasons       TEXT,
            decided_at    VARCHAR(32) NOT NULL,
            PRIMARY KEY (source_sha256, seq)
        )""",
        "CREATE INDEX decisions_claim ON decisions (claim_id)",
        # Last ISA13 / GS06 / ST02 used per sender/receiver pair.
        """CREATE TABLE control_numbers (
            kind        VARCHAR(8) NOT NULL,
            sender      VARCHAR(80) NOT NULL,
            receiver    VARCHAR(80) NOT NULL,
            last_number BIGINT NOT NULL,
            PRIMARY KEY (kind, sender, receiver)
        )""",
    ),
    # 1 -> 2: the web console (issue 19): its users, their sessions and the audit log. Statements in
    # cobpipe/console/store.py.
    (
        """CREATE TABLE console_users (
            name          VARCHAR(64) PRIMARY KEY,
            role          VARCHAR(16) NOT NULL,
            password_hash TEXT NOT NULL,
            disabled      INTEGER NOT NULL DEFAULT 0,
            created_at    VARCHAR(32) NOT NULL
        )""",
        # A session is known by the SHA-256 of its cookie value (the value itself is never stored).
        """CREATE TABLE console_sessions (
            token_hash CHAR(64) PRIMARY KEY,
            user_name  VARCHAR(64) NOT NULL,
            csrf       VARCHAR(64) NOT NULL,
            revealed   TEXT NOT NULL,
            created_at VARCHAR(32) NOT NULL,
            last_seen  VARCHAR(32) NOT NULL,
            expires_at VARCHAR(32) NOT NULL
        )""",
        # Who did what when: every login, reveal of PHI, download, change and claim sent.
        """CREATE TABLE console_audit (
            id        VARCHAR(32) PRIMARY KEY,
            at        VARCHAR(32) NOT NULL,
            user_name VARCHAR(64) NOT NULL,
            action    VARCHAR(32) NOT NULL,
            target    TEXT,
            detail    TEXT
        )""",
        "CREATE INDEX console_audit_at ON console_audit (at)",
    ),
    # 2 -> 3: a claim's life (issue 14): which payer sent each 835 and at which level, what was billed
    # to whom (level, frequency, channel), the payers' own claim numbers, follow-ups (replacement /
    # void), crossovers awaiting the forwarded-to payer, each claim's current state, and CLM01
    # folded for matching a CLP01 the payer upper-cased.
    (
        "ALTER TABLE decisions ADD COLUMN era_payer TEXT",
        "ALTER TABLE decisions ADD COLUMN era_level VARCHAR(2)",
        "ALTER TABLE decisions ADD COLUMN clp02 VARCHAR(4)",
        "ALTER TABLE decisions ADD COLUMN payer_claim_number VARCHAR(50)",
        "ALTER TABLE issued ADD COLUMN payer_level VARCHAR(2)",
        "ALTER TABLE issued ADD COLUMN frequency VARCHAR(2)",
        "ALTER TABLE issued ADD COLUMN channel VARCHAR(16)",
        "ALTER TABLE claims ADD COLUMN claim_id_folded VARCHAR(38)",
        # NULL: an original claim read from an 837P; 'issued': a claim cobpipe sent to a later payer
        "ALTER TABLE claims ADD COLUMN origin VARCHAR(16)",
        "UPDATE claims SET claim_id_folded = UPPER(claim_id)",
        "CREATE INDEX claims_folded ON claims (claim_id_folded)",
        # The claim number a payer gave a claim we billed it (835 CLP07, 277CA REF*1K): a replacement
        # or void to that payer carries it in 2300 REF*F8.
        """CREATE TABLE payer_claim_numbers (
            claim_id    VARCHAR(38) NOT NULL,
            payer_id    VARCHAR(80) NOT NULL,
            number      VARCHAR(50) NOT NULL,
            source      VARCHAR(32) NOT NULL,
            recorded_at VARCHAR(32) NOT NULL,
            PRIMARY KEY (claim_id, payer_id)
        )""",
        # A replacement (CLM05-3 7) or void (8) sent after the claim was billed, one per 835 causing it.
        """CREATE TABLE follow_ups (
            claim_id      VARCHAR(38) NOT NULL,
            payer_id      VARCHAR(80) NOT NULL,
            source_sha256 CHAR(64) NOT NULL,
            frequency     VARCHAR(2) NOT NULL,
            output        TEXT,
            isa13         INTEGER,
            gs06          INTEGER,
            st02          INTEGER,
            issued_at     VARCHAR(32) NOT NULL,
            PRIMARY KEY (claim_id, payer_id, source_sha256)
        )""",
        # A payer's 835 said it forwarded the claim (crossover); answered once the forwarded-to
        # payer's own 835 for the claim arrives.
        """CREATE TABLE crossovers (
            claim_id        VARCHAR(38) NOT NULL,
            source_sha256   CHAR(64) NOT NULL,
            announced_by    TEXT,
            forwarded_to    TEXT,
            announced_on    VARCHAR(10) NOT NULL,
            answered_sha256 CHAR(64),
            answered_at     VARCHAR(32),
            PRIMARY KEY (claim_id, source_sha256)
        )""",
        # Where each claim stands now: awaiting_primary is every stored claim with no row here.
        """CREATE TABLE claim_states (
            claim_id   VARCHAR(38) PRIMARY KEY,
            state      VARCHAR(32) NOT NULL,
            payer_id   VARCHAR(80),
            detail     TEXT,
            updated_at VARCHAR(32) NOT NULL
        )""",
    ),
    # 3 -> 4: acknowledgments of what we sent (issue 18): each issued claim's latest 999 and 277CA
    # verdict (accepted, accepted_with_errors, rejected) with its codes and reason in words.
    (
        """CREATE TABLE claim_acks (
            claim_id           VARCHAR(38) NOT NULL,
            payer_id           VARCHAR(80) NOT NULL,
            kind               VARCHAR(8) NOT NULL,
            state              VARCHAR(24) NOT NULL,
            codes              TEXT,
            reason             TEXT,
            payer_claim_number VARCHAR(50),
            ack_sha256         CHAR(64) NOT NULL,
            ack_name           TEXT,
            received_at        VARCHAR(32) NOT NULL,
            PRIMARY KEY (claim_id, payer_id, kind)
        )""",
    ),
    # 4 -> 5: files travelling between intake hosts and workers through the database (issue 21,
    # cobpipe/dist/store.py): input and output bytes in chunks (BLOB; BYTEA on PostgreSQL, translated
    # by its dialect), a blob complete once its blob_files row exists; the files each intake accepted
    # and what became of them; the outputs each intake has to deliver into its outbound folder.
    (
        """CREATE TABLE blobs (
            sha256 CHAR(64) NOT NULL,
            seq    INTEGER NOT NULL,
            data   BLOB NOT NULL,
            PRIMARY KEY (sha256, seq)
        )""",
        """CREATE TABLE blob_files (
            sha256    CHAR(64) PRIMARY KEY,
            size      BIGINT NOT NULL,
            chunks    INTEGER NOT NULL,
            stored_at VARCHAR(32) NOT NULL
        )""",
        """CREATE TABLE dist_jobs (
            sha256    CHAR(64) NOT NULL,
            intake    VARCHAR(200) NOT NULL,
            name      VARCHAR(255) NOT NULL,
            mtime_ns  BIGINT,
            options   TEXT,
            state     VARCHAR(16) NOT NULL,
            status    VARCHAR(16),
            detail    TEXT,
            queued_at VARCHAR(32) NOT NULL,
            done_at   VARCHAR(32),
            PRIMARY KEY (sha256, intake, name)
        )""",
        "CREATE INDEX dist_jobs_state ON dist_jobs (intake, state)",
        """CREATE TABLE dist_outbox (
            intake        VARCHAR(200) NOT NULL,
            folder        VARCHAR(100) NOT NULL,  -- outbound, or partners/<partner>/outbound
            name          VARCHAR(255) NOT NULL,
            blob_sha256   CHAR(64) NOT NULL,
            source_sha256 CHAR(64) NOT NULL,
            created_at    VARCHAR(32) NOT NULL,
            delivered_at  VARCHAR(32),
            PRIMARY KEY (intake, folder, name)
        )""",
        "CREATE INDEX dist_outbox_pending ON dist_outbox (intake, delivered_at)",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)

GET_META = "SELECT value FROM meta WHERE key = ?"
SET_META = """INSERT INTO meta (key, value) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value"""

# Claims. Re-adding a claim is a no-op; a changed claim text (a corrected resubmission) replaces it.
UPSERT_CLAIM = """INSERT INTO claims (claim_id, submitter_id, payer_id, source_hash, raw, envelope, added_at,
                        claim_id_folded, origin)
    VALUES (?, ?, ?, ?, ?, ?, ?, UPPER(?), ?)
    ON CONFLICT (claim_id, submitter_id, payer_id) DO UPDATE
        SET raw = excluded.raw, envelope = excluded.envelope, source_hash = excluded.source_hash,
            added_at = excluded.added_at
        WHERE claims.raw <> excluded.raw"""
ALL_CLAIMS = """SELECT claim_id, submitter_id, payer_id, source_hash, raw, envelope, added_at, claim_id, origin
    FROM claims ORDER BY claim_id, submitter_id, payer_id"""
CLAIMS_FOR = "SELECT raw, envelope FROM claims WHERE claim_id = ? ORDER BY submitter_id, payer_id"
# A CLP01 the payer upper-cased: every stored claim whose CLM01 folds to the same text.
CLAIMS_FOLDED = """SELECT raw, envelope FROM claims WHERE claim_id_folded = UPPER(?)
    ORDER BY claim_id, submitter_id, payer_id"""
COUNT_CLAIMS = "SELECT COUNT(*) FROM claims WHERE origin IS NULL"
COUNT_CLAIM_IDS = "SELECT COUNT(DISTINCT claim_id) FROM claims WHERE origin IS NULL"

# Files.
GET_FILE = "SELECT sha256, name, kind, outcome, reason, detail, processed_at FROM files WHERE sha256 = ?"
DELETE_REJECTED_FILE = "DELETE FROM files WHERE sha256 = ? AND outcome = 'rejected'"
INSERT_FILE = """INSERT INTO files (sha256, name, kind, outcome, reason, detail, processed_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)"""
SET_FILE_DETAIL = "UPDATE files SET detail = ? WHERE sha256 = ?"
FILE_COUNTS = "SELECT kind, outcome, COUNT(*) FROM files GROUP BY kind, outcome"
LAST_REJECTED_FILES = """SELECT sha256, name, kind, outcome, reason, detail, processed_at FROM files
    WHERE outcome = ? ORDER BY processed_at DESC, sha256 LIMIT ?"""

# Outputs and issued claims.
UPSERT_OUTPUT = """INSERT INTO outputs (name, source_sha256, kind, control_numbers, written_at)
    VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (name) DO UPDATE SET source_sha256 = excluded.source_sha256, kind = excluded.kind,
        control_numbers = excluded.control_numbers, written_at = excluded.written_at"""
OUTPUTS_OF = "SELECT name, kind, control_numbers FROM outputs WHERE source_sha256 = ? ORDER BY name"
# The original claims of one run that went to the same place: what they share (the ERA's hash, the output, its
# ISA13 and GS06, the time, the channel) bound once a statement, each claim's own values (CLM01, payer, ST02,
# SBR01, CLM05-3: frequency '' or NULL is '1') a row of the VALUES list (Ledger.record_issued_runs puts many
# rows in one statement). CAST: PostgreSQL types a VALUES column or a parameter with no type as text, and
# st02 is NULL in every row of a paper run. "WHERE true": SQLite's parser needs it before ON CONFLICT.
INSERT_ISSUED_RUN = """INSERT INTO issued (claim_id, payer_id, source_sha256, output, isa13, gs06, st02, issued_at,
                        payer_level, frequency, channel)
    SELECT claim.column1, claim.column2, ?, ?, CAST(? AS INTEGER), CAST(? AS INTEGER), CAST(claim.column3 AS INTEGER),
           ?, claim.column4, COALESCE(NULLIF(claim.column5, ''), '1'), ?
    FROM (VALUES (?, ?, ?, ?, ?)) AS claim WHERE true
    ON CONFLICT (claim_id, payer_id) DO NOTHING"""
INSERT_FOLLOW_UP = """INSERT INTO follow_ups (claim_id, payer_id, source_sha256, frequency, output, isa13, gs06,
                                              st02, issued_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (claim_id, payer_id, source_sha256) DO NOTHING"""
FOLLOW_UP_FREQUENCIES = "SELECT claim_id, payer_id, frequency FROM follow_ups ORDER BY issued_at, payer_id"
FOLLOW_UPS_FOR = """SELECT claim_id, payer_id, source_sha256, output, isa13, gs06, st02, issued_at, frequency
    FROM follow_ups WHERE claim_id = ? ORDER BY issued_at, payer_id"""
UPSERT_PAYER_CLAIM_NUMBER = """INSERT INTO payer_claim_numbers (claim_id, payer_id, number, source, recorded_at)
    VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (claim_id, payer_id) DO UPDATE SET number = excluded.number, source = excluded.source,
        recorded_at = excluded.recorded_at"""
GET_PAYER_CLAIM_NUMBER = "SELECT number FROM payer_claim_numbers WHERE claim_id = ? AND payer_id = ?"
UPSERT_CLAIM_STATE = """INSERT INTO claim_states (claim_id, state, payer_id, detail, updated_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (claim_id) DO UPDATE SET state = excluded.state, payer_id = excluded.payer_id,
        detail = excluded.detail, updated_at = excluded.updated_at"""
GET_CLAIM_STATE = "SELECT state, payer_id, detail, updated_at FROM claim_states WHERE claim_id = ?"
CLAIM_STATE_COUNTS = "SELECT state, COUNT(*) FROM claim_states GROUP BY state"
INSERT_CROSSOVER = """INSERT INTO crossovers (claim_id, source_sha256, announced_by, forwarded_to, announced_on)
    VALUES (?, ?, ?, ?, ?) ON CONFLICT (claim_id, source_sha256) DO NOTHING"""
OPEN_CROSSOVERS_FOR = """SELECT source_sha256, announced_by, forwarded_to, announced_on FROM crossovers
    WHERE claim_id = ? AND answered_sha256 IS NULL ORDER BY announced_on"""
ANSWER_CROSSOVERS = """UPDATE crossovers SET answered_sha256 = ?, answered_at = ?
    WHERE claim_id = ? AND answered_sha256 IS NULL"""
OVERDUE_CROSSOVERS = """SELECT claim_id, source_sha256, announced_by, forwarded_to, announced_on FROM crossovers
    WHERE answered_sha256 IS NULL AND announced_on < ? ORDER BY announced_on, claim_id"""
WAS_ISSUED = "SELECT 1 FROM issued WHERE claim_id = ? AND payer_id = ?"
ISSUED_FOR = """SELECT claim_id, payer_id, source_sha256, output, isa13, gs06, st02, issued_at,
        payer_level, frequency, channel FROM issued
    WHERE claim_id = ? ORDER BY issued_at, payer_id"""
COUNT_ISSUED = "SELECT COUNT(*) FROM issued"

# Decisions.
INSERT_DECISION = """INSERT INTO decisions (source_sha256, seq, claim_id, status, payer_id, reasons, decided_at,
                           era_payer, era_level, clp02, payer_claim_number)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (source_sha256, seq) DO UPDATE SET claim_id = excluded.claim_id, status = excluded.status,
        payer_id = excluded.payer_id, reasons = excluded.reasons, decided_at = excluded.decided_at,
        era_payer = excluded.era_payer, era_level = excluded.era_level, clp02 = excluded.clp02,
        payer_claim_number = excluded.payer_claim_number"""
# The latest status of every remitted claim id (by the decision's time, then its file and position).
# A claim once converted is not counted as skipped when a later ERA remits it again ("already
# billed"): the skip only confirms the conversion. Rejections after it still show (they need review).
_SETTLED_SKIP = """{d}.status = 'skipped' AND EXISTS (
        SELECT 1 FROM decisions c WHERE c.claim_id = {d}.claim_id AND c.status IN ('converted', 'paper'))"""
CLAIM_STATUS_COUNTS = """SELECT d.status, COUNT(*) FROM decisions d
    WHERE NOT (""" + _SETTLED_SKIP.format(d="d") + """)
      AND NOT EXISTS (
        SELECT 1 FROM decisions later WHERE later.claim_id = d.claim_id
          AND NOT (""" + _SETTLED_SKIP.format(d="later") + """)
          AND (later.decided_at > d.decided_at
               OR (later.decided_at = d.decided_at AND later.source_sha256 > d.source_sha256)
               OR (later.decided_at = d.decided_at AND later.source_sha256 = d.source_sha256
                   AND later.seq > d.seq)))
    GROUP BY d.status"""
# Claims (CLP01 among the {marks}) an 835 could not match and nothing has decided since: an 837P
# storing them retries that 835 for them. Oldest first, as they would have been converted.
UNMATCHED_AWAITING = """SELECT d.decided_at, d.source_sha256, d.seq, d.claim_id FROM decisions d
    JOIN files f ON f.sha256 = d.source_sha256
    WHERE f.kind = '835' AND d.status = 'unmatched' AND d.claim_id IN ({marks})
      AND NOT EXISTS (SELECT 1 FROM decisions later WHERE later.claim_id = d.claim_id
                      AND later.status <> 'unmatched' AND later.decided_at >= d.decided_at)"""
# Stored claims that no ERA has mentioned yet.
COUNT_PENDING = """SELECT COUNT(DISTINCT c.claim_id) FROM claims c
    WHERE c.origin IS NULL AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.claim_id = c.claim_id)"""
LAST_CLAIM_PROBLEMS = """SELECT d.claim_id, d.status, d.reasons, d.decided_at, f.name FROM decisions d
    JOIN files f ON f.sha256 = d.source_sha256
    WHERE d.status IN (?, ?) ORDER BY d.decided_at DESC, d.source_sha256, d.seq LIMIT ?"""

# Control numbers: one statement bumps (or starts) the counter and returns the number taken; it wraps
# from `maximum` back to 1 (ISA13 is nine digits).
NEXT_CONTROL_NUMBER = """INSERT INTO control_numbers (kind, sender, receiver, last_number) VALUES (?, ?, ?, ?)
    ON CONFLICT (kind, sender, receiver) DO UPDATE SET last_number =
        CASE WHEN control_numbers.last_number >= ? THEN 1 ELSE control_numbers.last_number + 1 END
    RETURNING last_number"""
PEEK_CONTROL_NUMBERS = "SELECT kind, sender, receiver, last_number FROM control_numbers ORDER BY 1, 2, 3"

# Acknowledgments (issue 18): the latest 999 / 277CA verdict per issued claim and payer.
UPSERT_CLAIM_ACK = """INSERT INTO claim_acks (claim_id, payer_id, kind, state, codes, reason, payer_claim_number,
                        ack_sha256, ack_name, received_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (claim_id, payer_id, kind) DO UPDATE SET state = excluded.state, codes = excluded.codes,
        reason = excluded.reason, payer_claim_number = excluded.payer_claim_number,
        ack_sha256 = excluded.ack_sha256, ack_name = excluded.ack_name, received_at = excluded.received_at"""
CLAIM_ACKS_FOR = """SELECT claim_id, payer_id, kind, state, codes, reason, payer_claim_number, ack_sha256, ack_name,
        received_at FROM claim_acks WHERE claim_id = ? ORDER BY payer_id, kind"""
ISSUED_IN_SET = """SELECT claim_id, payer_id, output FROM issued WHERE gs06 = ? AND st02 = ?
    ORDER BY output, claim_id"""
ISSUED_IN_GROUP = "SELECT claim_id, payer_id, output FROM issued WHERE gs06 = ? ORDER BY output, claim_id"
ACK_STATE_COUNTS = "SELECT kind, state, COUNT(*) FROM claim_acks GROUP BY kind, state"
# 837Ps written before a cutoff none of whose claims has a 999 yet.
OUTPUTS_WITHOUT_999 = """SELECT o.name, o.written_at FROM outputs o
    WHERE o.kind = '837P' AND o.written_at < ? AND NOT EXISTS (
        SELECT 1 FROM issued i JOIN claim_acks a ON a.claim_id = i.claim_id AND a.payer_id = i.payer_id
        WHERE i.output = o.name AND a.kind = '999')
    ORDER BY o.written_at, o.name LIMIT ?"""
_WITHOUT_277CA = """FROM issued i WHERE i.issued_at < ? AND NOT EXISTS (
        SELECT 1 FROM claim_acks a WHERE a.claim_id = i.claim_id AND a.payer_id = i.payer_id
          AND a.kind = '277CA')"""
ISSUED_WITHOUT_277CA = ("SELECT i.claim_id, i.payer_id, i.output, i.issued_at " + _WITHOUT_277CA
                        + " ORDER BY i.issued_at, i.claim_id LIMIT ?")
COUNT_WITHOUT_277CA = "SELECT COUNT(*) " + _WITHOUT_277CA
