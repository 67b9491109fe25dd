"""Hand-written baseline: the UFO pipeline with the PySpark DataFrame API.

``python -m benchmarks.baseline_pyspark --raw FILE --out DIR --threads N --memory-limit M``

What a Spark user would write to docs/contract.md, for one TSV file, on
``local[N]`` with ``spark.driver.memory`` = M:

* ``spark.read.text`` gives the lines (Hadoop splits on LF, CRLF and CR);
  empty lines are dropped. The file's header is the first line, read by the
  driver; lines equal to it are interchangeable, so one copy of it is dropped
  after the grouping below, wherever it landed.
* Duplicates: every output row depends only on the line's text. ``xxhash64``
  of each line, aggregated, finds the few hashes seen twice (a shuffle of
  10 million longs, not of 1.6 GB of text); only lines with those hashes are
  grouped exactly, by text, and cached. A line is then unique (one copy) or
  counted (``copies``): one sighting and ``copies - 1`` duplicates, or
  ``copies`` malformed/header rejects.
* Cleaning is built-in functions only (no Python UDF): ``split``, ``btrim``,
  ``translate``, ``rlike``, ``regexp_extract``, ``make_date`` and
  ``make_timestamp_ntz`` (timestamps without time zone, as the contract's Arrow
  type wants). A date that matches its pattern is split into its parts rather
  than extracted group by group; ``btrim`` and the entity replacements run only
  on the values that need them.
  ANSI mode is off, so a bad cast is null, as the contract wants.
* ``sightings`` and ``rejects`` are written, then the aggregates read the
  ``sightings`` Parquet back (four columns of it) and are written as one file each.
"""

from __future__ import annotations

import functools
import os
import string
import sys
from collections.abc import Sequence
from typing import Any

from benchmarks._common import (
    CA_PROVINCES,
    CLOCK_PATTERN,
    DATASETS,
    DATE_TIME_PATTERN,
    DURATION_PATTERN,
    ENTITY_CHAIN,
    HEADER,
    LEGACY_STATES,
    NUMBER_WORDS,
    POSTED_PATTERN,
    RAW_FIELDS,
    UNIT_SECONDS,
    US_STATES,
    WHITESPACE,
    BaselineArgs,
    Steps,
    memory_bytes,
    parse_args,
)


def session(args: BaselineArgs) -> Any:
    """A local SparkSession with the run's threads and driver memory."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    driver_memory = f"{memory_bytes(args.memory_limit) >> 20}m"
    spark = (
        SparkSession.builder.master(f"local[{args.threads}]")
        .appName("baseline-pyspark")
        .config("spark.driver.memory", driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.sql.shuffle.partitions", str(2 * args.threads))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    return spark


def _header_line(path: str) -> str:
    with open(path, encoding="utf-8", newline="") as f:
        return f.readline().rstrip("\r\n")


def run(args: BaselineArgs) -> None:
    steps = Steps("pyspark")
    from pyspark.sql import Column, Window
    from pyspark.sql import functions as F  # noqa: N812

    spark = session(args)
    steps.done("start Spark")
    out = {name: os.path.join(args.out, name) for name in DATASETS}

    def trim(c: Column) -> Column:
        """btrim with characters is the slow path: only where an end is whitespace."""
        ends = F.substring(c, 1, 1).isin(*WHITESPACE) | F.substring(c, -1, 1).isin(*WHITESPACE)
        return F.when(ends, F.btrim(c, F.lit(WHITESPACE))).otherwise(c)

    def lower_ascii(c: Column) -> Column:
        return F.translate(c, string.ascii_uppercase, string.ascii_lowercase)

    def upper_ascii(c: Column) -> Column:
        return F.translate(c, string.ascii_lowercase, string.ascii_uppercase)

    def group(c: Column, pattern: str, index: int) -> Column:
        """A capture group, null when empty or unmatched."""
        value = F.regexp_extract(c, pattern, index)
        return F.when(value != "", value)

    def real_date(y: Column, m: Column, d: Column) -> Column:
        leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
        days = (
            F.when(m.isin(4, 6, 9, 11), 30)
            .when(m == 2, F.when(leap, 29).otherwise(28))
            .otherwise(31)
        )
        return (y >= 1) & m.between(1, 12) & (d >= 1) & (d <= days)

    def pivot(yy: Column) -> Column:
        return F.when(yy <= 68, yy + 2000).otherwise(yy + 1900)

    header_text = _header_line(args.raw)
    lines = (
        spark.read.text(f"file://{args.raw}")
        .where(F.col("value") != "")
        .select("value", F.xxhash64("value").alias("h"))
    )
    dup_hashes = lines.groupBy("h").count().where("count > 1").select("h").cache()
    dup_hashes.count()
    steps.done("repeated hashes")
    repeated = (
        lines.join(F.broadcast(dup_hashes), "h", "left_semi")
        .groupBy("value")
        .agg(F.count("*").alias("copies"))
        .select(
            "value",
            (F.col("copies") - F.when(F.col("value") == header_text, 1).otherwise(0)).alias(
                "copies"
            ),
        )
        .where("copies > 0")
        .cache()
    )
    repeated.count()
    steps.done("repeated lines")
    unique = (
        lines.join(F.broadcast(dup_hashes), "h", "left_anti")
        .where(F.col("value") != header_text)
        .select("value", F.lit(1).cast("long").alias("copies"))
    )
    f = F.split(F.col("value"), "\t", -1)
    is_header = functools.reduce(
        lambda a, b: a & b,
        [lower_ascii(trim(F.get(f, i))) == h.lower() for i, h in enumerate(HEADER)],
    )
    classified = unique.unionByName(repeated).select(
        "value",
        "copies",
        f.alias("f"),
        F.when(F.size(f) != 7, "malformed")
        .when(F.lower(F.get(f, 0)).contains("date / time") & is_header, "header_row")
        .alias("reason"),
    )

    # sightings
    kept = classified.where(F.col("reason").isNull())
    fld = {name: F.get(F.col("f"), i) for i, name in enumerate(RAW_FIELDS)}
    texts = kept.select(
        trim(fld["date_time"]).alias("dt"),
        trim(fld["posted"]).alias("po"),
        upper_ascii(trim(fld["state"])).alias("code"),
        lower_ascii(trim(fld["duration"])).alias("dur"),
        trim(fld["city"]).alias("city"),
        lower_ascii(trim(fld["shape"])).alias("shape"),
        trim(fld["summary"]).alias("s"),
    )
    dt, po, dur = F.col("dt"), F.col("po"), F.col("dur")
    words = functools.reduce(
        lambda acc, kv: acc.when(F.col("q") == kv[0], F.lit(kv[1])),
        list(NUMBER_WORDS.items())[1:],
        F.when(F.col("q") == "a", F.lit(NUMBER_WORDS["a"])),
    ).otherwise(F.col("q").cast("double"))
    unit = functools.reduce(
        lambda acc, kv: acc.when(F.substring("u", 1, 1) == kv[0], F.lit(kv[1])),
        list(UNIT_SECONDS.items())[1:],
        F.when(F.substring("u", 1, 1) == "s", F.lit(UNIT_SECONDS["s"])),
    )
    code = functools.reduce(
        lambda acc, kv: acc.when(F.col("code") == kv[0], kv[1]),
        list(LEGACY_STATES.items())[1:],
        F.when(F.col("code") == "PQ", LEGACY_STATES["PQ"]),
    ).otherwise(F.col("code"))
    summary = F.col("s")
    for pattern, replacement in ENTITY_CHAIN:
        summary = F.regexp_replace(summary, pattern, replacement)
    # A date that matches its pattern splits into its groups on '/', ':' and
    # spaces: one match and one split instead of a regexp_extract per group.
    matched = texts.select(
        F.when(dt.rlike(DATE_TIME_PATTERN), F.split(dt, "[/: ]+")).alias("a"),
        F.when(po.rlike(POSTED_PATTERN), F.split(po, "/")).alias("p"),
        group(dur, DURATION_PATTERN, 1).alias("q"),
        group(dur, DURATION_PATTERN, 2).cast("double").alias("e"),
        group(dur, DURATION_PATTERN, 3).alias("u"),
        "dur",
        code.alias("code"),
        "city",
        "shape",
        F.when(F.instr("s", "&") > 0, summary).otherwise(F.col("s")).alias("summary"),
    )
    a, p = F.col("a"), F.col("p")
    parts = matched.select(
        *[F.get(a, i).cast("int").alias(f"a{i + 1}") for i in range(6)],
        F.length(F.get(a, 2)).alias("a_digits"),
        *[F.get(p, i).cast("int").alias(f"p{i + 1}") for i in range(3)],
        F.length(F.get(p, 2)).alias("p_digits"),
        "q",
        "e",
        "u",
        F.when(F.col("u").isNull(), group(dur, CLOCK_PATTERN, 1)).cast("double").alias("cm"),
        F.when(F.col("u").isNull(), group(dur, CLOCK_PATTERN, 2)).cast("double").alias("cs"),
        "code",
        "city",
        "shape",
        "summary",
    )
    py = F.when(F.col("p_digits") == 2, pivot(F.col("p3"))).otherwise(F.col("p3"))
    posted = parts.select(
        "*",
        F.when(
            real_date(py, F.col("p1"), F.col("p2")), F.make_date(py, F.col("p1"), F.col("p2"))
        ).alias("posted"),
    )
    posted_year = F.year("posted")
    century = posted_year - posted_year % 100
    sy = (
        F.when(F.col("a_digits") == 4, F.col("a3"))
        .when(F.col("posted").isNull(), pivot(F.col("a3")))
        .when(F.col("a3") <= posted_year % 100, century + F.col("a3"))
        .otherwise(century - 100 + F.col("a3"))
    )
    hour, minute, second = (F.coalesce(F.col(f"a{i}"), F.lit(0)) for i in (4, 5, 6))
    moment_ok = real_date(sy, F.col("a1"), F.col("a2")) & (hour <= 23) & (minute <= 59)
    moment_ok = moment_ok & (second <= 59)
    amount = F.when(F.col("e").isNull(), words).otherwise((words + F.col("e")) / 2)
    sightings = posted.select(
        F.when(
            moment_ok, F.make_timestamp_ntz(sy, F.col("a1"), F.col("a2"), hour, minute, second)
        ).alias("sighted_at"),
        F.when(F.col("city") != "", F.col("city")).alias("city"),
        F.when(F.col("code").isin(*US_STATES, *CA_PROVINCES), F.col("code")).alias("state"),
        F.when(F.col("code").isin(*CA_PROVINCES), "CA")
        .when(F.col("code").isin(*US_STATES), "US")
        .alias("country"),
        F.when(F.col("shape") != "", F.col("shape")).alias("shape"),
        F.when(F.col("u").isNotNull(), amount * unit)
        .when(F.col("cs").isNotNull(), F.coalesce(F.col("cm"), F.lit(0.0)) * 60 + F.col("cs"))
        .alias("duration_seconds"),
        "summary",
        "posted",
    )
    if os.environ.get("UFO_BENCH_EXPLAIN"):
        sightings.explain("formatted")
    sightings.write.mode("overwrite").parquet(out["sightings"])
    steps.done("write sightings")

    copies = F.when(F.col("reason").isNull(), F.col("copies") - 1).otherwise(F.col("copies"))
    rejects = (
        classified.where(F.col("reason").isNotNull() | (F.col("copies") > 1))
        .select("*", F.explode(F.sequence(F.lit(1), copies)).alias("copy"))
        .select(
            F.lit(args.raw).alias("source_file"),
            *[F.get(F.col("f"), i).alias(name) for i, name in enumerate(RAW_FIELDS)],
            F.when(F.col("reason") == "malformed", F.col("value")).alias("raw_line"),
            F.coalesce(F.col("reason"), F.lit("duplicate")).alias("reason"),
        )
    )
    rejects.coalesce(1).write.mode("overwrite").parquet(out["rejects"])
    steps.done("write rejects")

    written = spark.read.parquet(out["sightings"]).select("state", "country", "shape", "sighted_at")
    by_state = (
        written.groupBy("state", "country")
        .agg(
            F.count("*").alias("sightings"),
            F.min("sighted_at").alias("first_sighted_at"),
            F.max("sighted_at").alias("last_sighted_at"),
        )
        .cache()
    )
    by_shape = written.groupBy("shape").agg(F.count("*").alias("sightings")).cache()
    by_month = (
        written.where(F.col("sighted_at").isNotNull())
        .groupBy(F.year("sighted_at").alias("year"), F.month("sighted_at").alias("month"))
        .agg(F.count("*").alias("sightings"))
    )

    def top10(counts: Any, key: str) -> Any:
        order = Window.orderBy(F.col("sightings").desc(), F.col(key).asc())
        return (
            counts.where(F.col(key).isNotNull())
            .select(F.row_number().over(order).cast("long").alias("rank"), key, "sightings")
            .where("rank <= 10")
        )

    for name, frame in (
        ("by_state", by_state),
        ("top10_states", top10(by_state, "state")),
        ("by_shape", by_shape),
        ("top10_shapes", top10(by_shape, "shape")),
        ("by_month", by_month),
    ):
        frame.coalesce(1).write.mode("overwrite").parquet(out[name])
    steps.done("aggregates")
    spark.stop()
    steps.total()


def main(argv: Sequence[str] | None = None) -> int:
    run(parse_args(__doc__.splitlines()[0] if __doc__ else "", argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
