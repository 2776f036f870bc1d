"""The data and the policy the Spark suite runs against.

Users (the groups go into their signed tokens through the Spark local property `groups`):

| user  | groups             | roles            | what the policy gives them                                    |
|-------|--------------------|------------------|---------------------------------------------------------------|
| admin | admin              | (admin group)    | ALL ON CATALOG                                                |
| alice | analysts           | analyst          | users: ccn mask_ccn'd, gender = 'F' rows; orders: own rows,   |
|       |                    |                  | no `card`; hr: tags (no fin.salary; ssn masked, email         |
|       |                    |                  | tokenized); events (Delta): own rows, no writes               |
| bob   | —                  | —                | nothing: every governed read is denied                        |
| carol | viewers            | viewer           | only views: sales.v_orders_eu_big (nested over v_orders_eu),  |
|       |                    |                  | okera_sample.v_users (ccn tagged on the view, masked, M rows) |
| dave  | analysts,auditors  | analyst, auditor | as alice, but has_roles('auditor') shows all orders; INSERT   |
|       |                    |                  | on events                                                     |
| erin  | guests             | guest            | hr: only columns tagged public.open                           |
| frank | etl                | etl              | ALL on events (writes, MERGE); ALL ON URI <lake>/raw          |
"""

from __future__ import annotations

import shutil
from pathlib import Path

import harness as h

USERS = {
    "admin": "admin",
    "alice": "analysts",
    "bob": "",
    "carol": "viewers",
    "dave": "analysts,auditors",
    "erin": "guests",
    "frank": "etl",
}

ORDERS = [  # order_id, owner, region, amount, card
    (1, "alice", "EU", 120, "4111-1111-1111-1001"),
    (2, "alice", "US", 80, "4111-1111-1111-1002"),
    (3, "alice", "EU", 40, "4111-1111-1111-1003"),
    (4, "dave", "EU", 300, "4111-1111-1111-1004"),
    (5, "dave", "US", 15, "4111-1111-1111-1005"),
    (6, "bob", "EU", 500, "4111-1111-1111-1006"),
    (7, "bob", "US", 220, "4111-1111-1111-1007"),
    (8, "carol", "EU", 99, "4111-1111-1111-1008"),
    (9, "erin", "EU", 101, "4111-1111-1111-1009"),
    (10, "frank", "US", 7, "4111-1111-1111-1010"),
]

EMPLOYEES = [  # emp_id, name, ssn, email, salary
    (1, "Ada", "123-45-6789", "ada@example.com", 120000),
    (2, "Grace", "987-65-4321", "grace@example.com", 135000),
    (3, "Linus", "555-12-3456", "linus@example.com", 99000),
]

EVENTS = [  # event_id, owner, kind, amount
    (1, "alice", "click", 1),
    (2, "alice", "view", 2),
    (3, "dave", "click", 3),
    (4, "frank", "buy", 40),
    (5, "bob", "view", 5),
]

POLICY = """
CREATE ROLE analyst;  GRANT ROLE analyst TO GROUP analysts;
CREATE ROLE auditor;  GRANT ROLE auditor TO GROUP auditors;
CREATE ROLE viewer;   GRANT ROLE viewer TO GROUP viewers;
CREATE ROLE guest;    GRANT ROLE guest TO GROUP guests;
CREATE ROLE etl;      GRANT ROLE etl TO GROUP etl;

-- the sample policy of the demo
GRANT SELECT ON TABLE okera_sample.users TRANSFORM pii.credit_card WITH mask_ccn() WHERE gender = 'F'
  TO ROLE analyst;

-- a column list (card removed) and a row filter with user() and has_roles()
GRANT SELECT(order_id, owner, region, amount) ON TABLE sales.orders
  WHERE owner = user() OR has_roles('auditor') TO ROLE analyst;

-- tag-based grants on a database
CREATE ATTRIBUTE pii.ssn; CREATE ATTRIBUTE pii.email; CREATE ATTRIBUTE fin.salary; CREATE ATTRIBUTE public.open;
ALTER TABLE hr.employees ADD COLUMN ATTRIBUTE emp_id public.open;
ALTER TABLE hr.employees ADD COLUMN ATTRIBUTE name public.open;
ALTER TABLE hr.employees ADD COLUMN ATTRIBUTE ssn pii.ssn;
ALTER TABLE hr.employees ADD COLUMN ATTRIBUTE email pii.email;
ALTER TABLE hr.employees ADD COLUMN ATTRIBUTE salary fin.salary;
GRANT SELECT ON DATABASE hr HAVING ATTRIBUTE NOT IN (fin.salary)
  TRANSFORM pii.ssn WITH mask() TRANSFORM pii.email WITH tokenize() TO ROLE analyst;
GRANT SELECT ON DATABASE hr HAVING ATTRIBUTE IN (public.open) TO ROLE guest;

-- Delta: alice and dave read their own events, dave may insert, frank may do anything
GRANT SELECT ON TABLE sales.events WHERE owner = user() TO ROLE analyst;
GRANT INSERT ON TABLE sales.events TO ROLE auditor;
GRANT ALL ON TABLE sales.events TO ROLE etl;
"""

# Granted once the planner has seen the views (it learns views from an engine's requests).
VIEW_POLICY = """
GRANT SELECT ON VIEW sales.v_orders_eu_big TO ROLE viewer;
ALTER VIEW okera_sample.v_users ADD COLUMN ATTRIBUTE ccn pii.credit_card;
GRANT SELECT ON VIEW okera_sample.v_users TRANSFORM pii.credit_card WITH mask_ccn() WHERE gender = 'M'
  TO ROLE viewer;
"""

PLANNER_CATALOG = """
CREATE DATABASE IF NOT EXISTS sales;
CREATE DATABASE IF NOT EXISTS hr;
CREATE TABLE IF NOT EXISTS sales.orders (order_id int, owner string, region string, amount int, card string);
CREATE TABLE IF NOT EXISTS sales.events (event_id bigint, owner string, kind string, amount int);
CREATE TABLE IF NOT EXISTS hr.employees (emp_id int, name string, ssn string, email string, salary int);
"""


def values(rows) -> str:
    def lit(v):
        return str(v) if isinstance(v, int) else h.sql_str(v)
    return ", ".join("(" + ", ".join(lit(v) for v in r) + ")" for r in rows)


def load_users(spark, lake: Path) -> Path:
    """okera_sample.users from data/okera_sample/users.parquet (copied, so nothing writes into
    the repository), as admin."""
    d = lake / "okera_sample" / "users"
    d.mkdir(parents=True, exist_ok=True)
    shutil.copy(h.USERS_PARQUET, d / "users.parquet")
    spark.sql("CREATE DATABASE IF NOT EXISTS okera_sample")
    spark.sql(f"CREATE TABLE IF NOT EXISTS okera_sample.users USING parquet LOCATION '{d}'")
    return d


def load_world(spark, planner: h.Planner, lake: Path, *, delta: bool = True) -> None:
    """All tables, views and the policy, created as admin (the session's default identity)."""
    sc = spark.sparkContext
    sc.setLocalProperty("user", "admin")
    sc.setLocalProperty("groups", "admin")
    planner.sql(PLANNER_CATALOG)
    load_users(spark, lake)
    spark.sql("CREATE DATABASE IF NOT EXISTS sales")
    spark.sql("CREATE DATABASE IF NOT EXISTS hr")
    spark.sql("CREATE TABLE sales.orders (order_id int, owner string, region string, amount int, card string)"
              " USING parquet")
    spark.sql(f"INSERT INTO sales.orders VALUES {values(ORDERS)}")
    spark.sql("CREATE TABLE hr.employees (emp_id int, name string, ssn string, email string, salary int)"
              " USING parquet")
    spark.sql(f"INSERT INTO hr.employees VALUES {values(EMPLOYEES)}")
    if delta:
        spark.sql("CREATE TABLE sales.events (event_id bigint, owner string, kind string, amount int) USING delta")
        spark.sql(f"INSERT INTO sales.events VALUES {values(EVENTS)}")
    spark.sql("CREATE VIEW sales.v_orders_eu AS SELECT order_id, owner, amount FROM sales.orders WHERE region = 'EU'")
    spark.sql("CREATE VIEW sales.v_orders_eu_big AS SELECT order_id, amount FROM sales.v_orders_eu WHERE amount > 100")
    spark.sql("CREATE VIEW okera_sample.v_users AS SELECT uid, gender, ccn FROM okera_sample.users")
    planner.sql(POLICY)
    # The planner records views from allowed requests: admin reads each once.
    for v in ("sales.v_orders_eu", "sales.v_orders_eu_big", "okera_sample.v_users"):
        spark.sql(f"SELECT * FROM {v} LIMIT 1").collect()
    for db, t in (("sales", "v_orders_eu_big"), ("okera_sample", "v_users")):
        planner.wait_known(db, t)
    planner.sql(VIEW_POLICY)
