"""The world the security suite attacks: users, data, policy.

| user    | groups     | roles              | what the policy gives them                                   |
|---------|------------|--------------------|--------------------------------------------------------------|
| admin   | admin      | (admin group)      | ALL ON CATALOG                                               |
| bob     | —          | —                  | nothing at all                                               |
| alice   | analysts   | analyst, sandboxer | hr.emp and hr.emp_hive: ssn mask()ed, salary zero()ed, rows  |
|         |            |                    | dept = 'eng'; hr.payroll rows region = 'EU'; hr.events_d own |
|         |            |                    | rows; ALL ON DATABASE sandbox                                |
| mallory | tinkerers  | tinkerer, sandboxer| ALL ON DATABASE sandbox (her scratch database, so a refusal  |
|         |            |                    | there is about a location, never the table); CREATE ON       |
|         |            |                    | DATABASE shared (only CREATE); SELECT pub.colors; ALL ON URI |
|         |            |                    | <lake>/mallory                                               |
| ivan    | appenders  | appender           | INSERT ON TABLE hr.ledger (Delta), hr.ledger_pq — no SELECT  |
| carol   | viewers    | viewer             | views only (granted by the view tests)                       |
| cora    | viewers    | viewer             | as carol (a reader whose decisions were never cached)        |
| owen    | definers   | definer, sandboxer | SELECT hr.emp (unrestricted): defines a view, then loses it  |
| ursula  | urireaders | urireader          | SELECT ON URI <lake>/hr/secret (hr.secret's files by path)   |
| dora    | creators   | creator            | CREATE ON CATALOG (may create databases; no URI)             |

Data (admin writes it through Spark; hr's database lives at <lake>/hr):

| object            | format              | what                                                        |
|-------------------|---------------------|-------------------------------------------------------------|
| hr.secret         | parquet             | emp_id, full_name, tax_ssn, base_salary: nobody but admin   |
| hr.emp            | parquet             | emp_id, name, ssn (pii.ssn), dept, salary (fin.salary)      |
| hr.emp_hive       | Hive STORED AS PARQUET | as hr.emp                                               |
| hr.payroll        | parquet, PARTITIONED BY region | emp_id, amount, region                           |
| hr.ledger         | Delta               | id, note, secret_col, amount: ivan may only append          |
| hr.ledger_pq      | parquet             | as hr.ledger                                                |
| hr.events_d       | Delta, change feed, PARTITIONED BY kind | event_id, owner, kind; admin deleted a row of bob's |
| shared.important  | Delta               | k, v: mallory may CREATE in shared, never write this        |
| pub.colors        | parquet             | harmless                                                    |
| <lake>/hr/exports | csv/json/orc/text   | hr.secret's rows as files                                   |
"""

from __future__ import annotations

import time
from pathlib import Path

import harness as h

USERS = {
    "admin": "admin",
    "bob": "",
    "alice": "analysts",
    "mallory": "tinkerers",
    "ivan": "appenders",
    "carol": "viewers",
    "cora": "viewers",
    "owen": "definers",
    "ursula": "urireaders",
    "dora": "creators",
}

SECRET = [  # emp_id, full_name, tax_ssn, base_salary
    (1, "Ada Lovelace", "123-45-6789", 250001),
    (2, "Alan Turing", "987-65-4321", 260002),
    (3, "Grace Hopper", "555-12-3456", 270003),
]
SECRET_SCHEMA = "emp_id int, full_name string, tax_ssn string, base_salary int"
SECRET_COLUMNS = ("tax_ssn", "base_salary", "full_name")  # names only hr.secret's schema reveals
SECRET_VALUES = ("123-45-6789", "987-65-4321", "555-12-3456", "Ada Lovelace", "Grace Hopper")

EMP = [  # emp_id, name, ssn, dept, salary
    (1, "Ann", "111-22-3333", "eng", 101000),
    (2, "Ben", "222-33-4444", "eng", 102000),
    (3, "Cid", "333-44-5555", "ops", 103000),
    (4, "Dee", "444-55-6666", "ops", 104000),
]
EMP_SCHEMA = "emp_id int, name string, ssn string, dept string, salary int"
EMP_RAW_SSN = tuple(r[2] for r in EMP)
# What alice must see of hr.emp: dept = 'eng' rows, ssn through mask() ('x' per character),
# salary through zero().
ALICE_EMP = sorted((i, n, "x" * len(s), d, 0) for (i, n, s, d, _) in EMP if d == "eng")

PAYROLL = [(1, 10, "EU"), (2, 20, "EU"), (3, 30, "US"), (4, 40, "APAC")]  # emp_id, amount, region

LEDGER = [  # id, note, secret_col, amount
    (1, "rent", "LEDGER-SECRET-0001", 10),
    (2, "salary", "LEDGER-SECRET-0002", 20),
    (3, "bonus", "LEDGER-SECRET-0003", 30),
]
LEDGER_SCHEMA = "id bigint, note string, secret_col string, amount int"
LEDGER_SECRETS = tuple(r[2] for r in LEDGER)

EVENTS = [(1, "alice", "click"), (2, "alice", "view"), (3, "bob", "buy-HIDDEN-7781"), (4, "bob", "view")]
EVENTS_HIDDEN = "buy-HIDDEN-7781"  # a value only rows alice may not see carry

IMPORTANT = [("a", 1), ("b", 2), ("c", 3)]
COLORS = [("red",), ("green",), ("blue",)]

CATALOG = """
CREATE DATABASE IF NOT EXISTS hr;
CREATE DATABASE IF NOT EXISTS sandbox;
CREATE DATABASE IF NOT EXISTS shared;
CREATE DATABASE IF NOT EXISTS pub;
CREATE TABLE IF NOT EXISTS hr.secret (emp_id int, full_name string, tax_ssn string, base_salary int);
CREATE TABLE IF NOT EXISTS hr.emp (emp_id int, name string, ssn string, dept string, salary int);
CREATE TABLE IF NOT EXISTS hr.emp_hive (emp_id int, name string, ssn string, dept string, salary int);
CREATE TABLE IF NOT EXISTS hr.payroll (emp_id int, amount int, region string);
CREATE TABLE IF NOT EXISTS hr.ledger (id bigint, note string, secret_col string, amount int);
CREATE TABLE IF NOT EXISTS hr.ledger_pq (id bigint, note string, secret_col string, amount int);
CREATE TABLE IF NOT EXISTS hr.events_d (event_id bigint, owner string, kind string);
CREATE TABLE IF NOT EXISTS shared.important (k string, v int);
CREATE TABLE IF NOT EXISTS pub.colors (name string);
"""

POLICY = """
CREATE ROLE analyst;    GRANT ROLE analyst TO GROUP analysts;
CREATE ROLE tinkerer;   GRANT ROLE tinkerer TO GROUP tinkerers;
CREATE ROLE appender;   GRANT ROLE appender TO GROUP appenders;
CREATE ROLE viewer;     GRANT ROLE viewer TO GROUP viewers;
CREATE ROLE definer;    GRANT ROLE definer TO GROUP definers;
CREATE ROLE urireader;  GRANT ROLE urireader TO GROUP urireaders;
CREATE ROLE creator;    GRANT ROLE creator TO GROUP creators;
CREATE ROLE sandboxer;
GRANT ROLE sandboxer TO GROUP analysts; GRANT ROLE sandboxer TO GROUP tinkerers; GRANT ROLE sandboxer TO GROUP definers;
GRANT ALL ON DATABASE sandbox TO ROLE sandboxer;

CREATE ATTRIBUTE pii.ssn; CREATE ATTRIBUTE fin.salary;
ALTER TABLE hr.emp ADD COLUMN ATTRIBUTE ssn pii.ssn;
ALTER TABLE hr.emp ADD COLUMN ATTRIBUTE salary fin.salary;
ALTER TABLE hr.emp_hive ADD COLUMN ATTRIBUTE ssn pii.ssn;
ALTER TABLE hr.emp_hive ADD COLUMN ATTRIBUTE salary fin.salary;
GRANT SELECT ON TABLE hr.emp TRANSFORM pii.ssn WITH mask() TRANSFORM fin.salary WITH zero()
  WHERE dept = 'eng' TO ROLE analyst;
GRANT SELECT ON TABLE hr.emp_hive TRANSFORM pii.ssn WITH mask() TRANSFORM fin.salary WITH zero()
  WHERE dept = 'eng' TO ROLE analyst;
GRANT SELECT ON TABLE hr.payroll WHERE region = 'EU' TO ROLE analyst;
GRANT SELECT ON TABLE hr.events_d WHERE owner = user() TO ROLE analyst;

GRANT CREATE ON DATABASE shared TO ROLE tinkerer;
GRANT SELECT ON TABLE pub.colors TO ROLE tinkerer;
GRANT ALL ON URI '{mallory_uri}' TO ROLE tinkerer;

GRANT INSERT ON TABLE hr.ledger TO ROLE appender;
GRANT INSERT ON TABLE hr.ledger_pq TO ROLE appender;
GRANT SELECT ON TABLE hr.emp TO ROLE definer;
GRANT SELECT ON URI '{secret_uri}' TO ROLE urireader;
GRANT CREATE ON CATALOG TO ROLE creator;
"""


def secret_dir(lake: Path) -> Path:
    return Path(lake) / "hr" / "secret"


def declare(planner: h.Planner, lake: Path) -> None:
    """The planner's catalog and the policy (no Spark needed)."""
    lake = Path(lake)
    planner.sql(CATALOG)
    planner.sql(POLICY.format(mallory_uri=f"file://{lake}/mallory", secret_uri=f"file://{secret_dir(lake)}"))


def values(rows) -> str:
    def lit(v):
        return str(v) if isinstance(v, int) else h.sql_str(v)
    return ", ".join("(" + ", ".join(lit(v) for v in r) + ")" for r in rows)


ALL_PARTS = ("core", "hive", "payroll", "ledger", "events", "shared", "exports", "stream")


def load(spark, lake: Path, parts=ALL_PARTS) -> None:
    """Create the Spark side of the world as admin: only the parts a module attacks."""
    lake = Path(lake)
    t0 = time.monotonic()
    sc = spark.sparkContext
    sc.setLocalProperty("user", "admin")
    sc.setLocalProperty("groups", "admin")
    (lake / "mallory").mkdir(parents=True, exist_ok=True)
    spark.sql(f"CREATE DATABASE IF NOT EXISTS hr LOCATION '{lake}/hr'")
    for db in ("sandbox", "shared", "pub"):
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {db}")
    if "core" in parts or "exports" in parts:
        spark.sql(f"CREATE TABLE hr.secret ({SECRET_SCHEMA}) USING parquet")
        spark.sql(f"INSERT INTO hr.secret VALUES {values(SECRET)}")
        spark.sql(f"CREATE TABLE hr.emp ({EMP_SCHEMA}) USING parquet")
        spark.sql(f"INSERT INTO hr.emp VALUES {values(EMP)}")
        spark.sql("CREATE TABLE pub.colors (name string) USING parquet")
        spark.sql(f"INSERT INTO pub.colors VALUES {values(COLORS)}")
    if "hive" in parts:
        spark.sql(f"CREATE TABLE hr.emp_hive ({EMP_SCHEMA}) STORED AS PARQUET")
        spark.sql(f"INSERT INTO hr.emp_hive VALUES {values(EMP)}")
    if "payroll" in parts:
        spark.sql("CREATE TABLE hr.payroll (emp_id int, amount int, region string) USING parquet PARTITIONED BY (region)")
        spark.sql(f"INSERT INTO hr.payroll VALUES {values(PAYROLL)}")
    if "ledger" in parts:
        spark.sql(f"CREATE TABLE hr.ledger ({LEDGER_SCHEMA}) USING delta")
        spark.sql(f"INSERT INTO hr.ledger VALUES {values(LEDGER)}")
        spark.sql(f"CREATE TABLE hr.ledger_pq ({LEDGER_SCHEMA}) USING parquet")
        spark.sql(f"INSERT INTO hr.ledger_pq VALUES {values(LEDGER)}")
    if "events" in parts:
        spark.sql("CREATE TABLE hr.events_d (event_id bigint, owner string, kind string) USING delta "
                  "PARTITIONED BY (kind) TBLPROPERTIES (delta.enableChangeDataFeed = true)")
        spark.sql(f"INSERT INTO hr.events_d VALUES {values(EVENTS)}")
        # history now holds a predicate with a value of bob's rows, the change feed the deleted row
        # (a partition delete: metadata only, no scan)
        spark.sql(f"DELETE FROM hr.events_d WHERE kind = '{EVENTS_HIDDEN}'")
    if "shared" in parts:
        spark.sql("CREATE TABLE shared.important (k string, v int) USING delta")
        spark.sql(f"INSERT INTO shared.important VALUES {values(IMPORTANT)}")
    if "exports" in parts:
        src = spark.table("hr.secret").coalesce(1)
        out = lake / "hr" / "exports"
        src.write.option("header", "true").csv(str(out / "csv"))
        src.write.json(str(out / "json"))
        src.write.orc(str(out / "orc"))
        src.selectExpr("concat_ws(',', emp_id, full_name, tax_ssn, base_salary) AS value").write.text(str(out / "text"))
    if "stream" in parts:
        spark.createDataFrame([(i,) for i in range(3)], "n bigint").coalesce(1).write.json(str(lake / "mallory" / "stream_in"))
    print(f"world {','.join(parts)} loaded in {time.monotonic() - t0:.1f}s")
