"""Every state and percentage a job's row ever held, recorded by a PostgreSQL trigger on the plugin's job table.

Polling over HTTP samples the states; the trigger sees each write (also the ones between two polls).
"""

TABLE = "it_job_progress"
FUNCTION = "it_record_job_progress"

INSTALL_SQL = """
CREATE TABLE IF NOT EXISTS {table} (
    id bigserial PRIMARY KEY,
    job_id bigint NOT NULL,
    phase text NOT NULL,
    attempt text NOT NULL,
    state text NOT NULL,
    progress integer NOT NULL
);
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.export_state IS DISTINCT FROM OLD.export_state
            OR NEW.export_progress IS DISTINCT FROM OLD.export_progress THEN
        INSERT INTO {table} (job_id, phase, attempt, state, progress)
        VALUES (NEW.id, 'export', '', NEW.export_state, NEW.export_progress);
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.shred_state IS DISTINCT FROM OLD.shred_state
            OR NEW.shred_progress IS DISTINCT FROM OLD.shred_progress
            OR NEW.shred_attempt IS DISTINCT FROM OLD.shred_attempt) THEN
        INSERT INTO {table} (job_id, phase, attempt, state, progress)
        VALUES (NEW.id, 'shred', NEW.shred_attempt, NEW.shred_state, NEW.shred_progress);
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS {table} ON {job_table};
CREATE TRIGGER {table} AFTER INSERT OR UPDATE ON {job_table} FOR EACH ROW EXECUTE FUNCTION {function}();
"""


class ProgressRecorder:
    def __init__(self, postgres, dbname: str, job_table: str):
        self.postgres = postgres
        self.dbname = dbname
        self.job_table = job_table

    def _execute(self, sql: str, params=()) -> list:
        conn = self.postgres.connect(self.dbname)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def install(self) -> "ProgressRecorder":
        self._execute(INSTALL_SQL.format(table=TABLE, function=FUNCTION, job_table=self.job_table))
        return self

    def uninstall(self):
        self._execute(f"DROP TRIGGER IF EXISTS {TABLE} ON {self.job_table}; DROP FUNCTION IF EXISTS {FUNCTION}();")

    def history(self, job_id: int, phase: str) -> list[tuple[str, str, int]]:
        """(attempt, state, percentage) of every write that changed them, oldest first."""
        rows = self._execute(
            f"SELECT attempt, state, progress FROM {TABLE} WHERE job_id = %s AND phase = %s ORDER BY id",
            (job_id, phase),
        )
        return [tuple(row) for row in rows]

    def percentages(self, job_id: int, phase: str, state: str = "running") -> list[int]:
        """The percentages recorded while the phase was in ``state`` (for a shred: of its last attempt)."""
        history = self.history(job_id, phase)
        last_attempt = history[-1][0] if history else ""
        return [p for attempt, s, p in history if s == state and attempt == last_attempt]
