"""Generate large, deterministic, realistically dirty raw NUFORC-style TSV files.

The output imitates the raw NUFORC index tables described in
``docs/contract.md``: a header line
``Date / Time<TAB>City<TAB>State<TAB>Shape<TAB>Duration<TAB>Summary<TAB>Posted``
followed by exactly ``rows`` lines, every line (the last one included) ended by
LF, UTF-8 without BOM. The same ``(rows, seed)`` always gives a byte-identical
file. All words, names and templates are the module's own: no row, summary or
city of a real NUFORC file is reproduced.

Structural dirt (exact counts, see :func:`plan_counts`; they are spread with
integer rounding so that the first ``k`` lines hold ``round(rate * k)`` of
each kind; the first line of every 100,000-line chunk is always clean):

* repeated header lines: 0.1 % (1,000 ppm); 70 % of them are exactly the
  header, the others differ only by case or by spaces around the fields
  (still equal to the header once trimmed and case-folded);
* exact duplicates of an earlier clean line of the same chunk: 0.05 % (500 ppm);
  half copy one of the few preceding lines, half any earlier line;
* malformed lines: 0.05 % (500 ppm): 8 fields (a TAB inside the summary, or a
  trailing TAB) or 6 fields (``Posted`` or ``Shape`` missing);
* empty lines: 0.01 % (100 ppm).

The remaining lines are clean 7-field records (no TAB, CR or LF inside a
field). Their per-field dirt, as a share of those lines (approximate for the
pooled columns, Bernoulli-like draws elsewhere):

``Date / Time``
    ``M/D/YY HH:MM`` 93.67 %, ``MM/DD/YYYY H:MM:SS`` 4 %, ``M/D/YYYY H:MM``
    0.6 %, date only ``M/D/YY`` 1.3 % and ``MM/DD/YYYY`` 0.2 %, time only
    (``23:00``) 0.1 %, blank 0.05 %, free text (``summer 1950 22:05``,
    ``9/?/99 22:30``) 0.03 %, impossible dates or times (``2/30/14 21:00``,
    ``13/1/14 10:00``, ``4/31/03 25:61``) 0.05 %; then 0.1 % of the non-blank
    values get leading/trailing spaces or a double space before the time.
    Sighting years 1940-2019 weighted like NUFORC (mostly 1995-2016); hours
    peak at 21:00. Two-digit years before 1969 are common enough (about 2 %)
    to exercise the "latest century on or before ``Posted``" rule.
``City`` / ``State``
    US codes weighted like NUFORC (CA about 12 %, then FL, WA, TX, NY; DC
    and PR included) about 88 %, Canadian provinces with ``X (Canada)``
    cities about 4.4 % (legacy ``PQ`` ``NF`` ``YK`` 0.13 %), blank state with a
    foreign city ``X (Country)`` (``Mumbai (India)``) about 7.3 %, invalid
    codes (``SA`` ``VI`` ``XX`` ``GU``) about 0.05 %. Then: lowercase state
    0.1 %, TitleCase (``Fl``) 0.03 %, state padded with a space 0.03 %, US
    city with blank state 0.15 %, blank city 0.05 %. About 5 % of US cities
    carry notes such as ``(near X)``, ``(between X and Y)``, ``(I-95)``;
    about 1.9 % of the cities are non-ASCII (``Montréal``-like, ``Cañon``).
``Shape``
    TitleCase (Light about 20 %, Circle, Triangle, Fireball, ...), blank
    about 3.3 %, lowercase about 0.15 %, UPPERCASE about 0.05 %, padded with
    spaces about 0.05 %, rare shapes (``Delta``, ``Round``, ``Flare``, ...).
``Duration``
    Free text from weighted templates (``5 minutes``, ``~30 seconds``,
    ``1-2 hours``, ``2:00``, ``:30``, ``5 min.``, ``2 hrs``, ``unknown``,
    ``few seconds``, ``ongoing``, ...): blank about 3.5 %, and about 87 % of
    the non-blank values parse under the duration rules of the contract
    (the real 2019 NUFORC file: 87.3 %).
``Summary``
    Teasers cut at 135 characters built from the module's own word lists:
    ``((NUFORC Note: ... PD))`` about 4.7 %, ``((anonymous report))`` about
    2.1 %, ``HOAX`` markers about 1.9 %, HTML entities (``&quot;`` ``&amp;``
    ``&#39;`` ``&#44`` ``&lt;`` ``&gt;``, with and without ``;``, and
    ``&amp;quot;``; sometimes cut in half by the truncation) about 2.1 %,
    literal double quotes about 3.8 %, non-ASCII characters (é, …, curly
    quotes, NBSP, °) about 2.5 %, double spaces about 3 %, blank 0.1 %, padded
    with spaces 0.05 %.
``Posted``
    ``M/D/YY`` about 93.9 %, ``MM/DD/YYYY`` about 5.2 % (half of the rows
    whose sighting is ``MM/DD/YYYY`` are posted that way too), ``M/D/YYYY``
    0.8 %, blank 0.05 %, junk (``unknown``, ``12/05/20l4``, ``2014-12-05``)
    0.03 %. Posted is on or after the sighting day (median lag about three
    weeks, long tail of late reports, never before 1998), except 0.01 % of
    rows posted the day before the sighting within the same year (time zones).

Usage::

    python -m etl.generate --rows 1000000 --out /tmp/ufo.tsv --seed 0

Performance: the columns are drawn with numpy as indices into pools of
pre-built strings and the lines are joined in C-level ``map`` calls, in chunks
of 100,000 lines; 10 million lines take about 15 s on 2 cores (175 MB RSS).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import logging
import operator
import os
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

__all__ = [
    "CHUNK_ROWS",
    "DIRT_PPM",
    "HEADER",
    "HEADER_LINE",
    "generate",
    "main",
    "plan_counts",
]

HEADER: Final[tuple[str, ...]] = (
    "Date / Time",
    "City",
    "State",
    "Shape",
    "Duration",
    "Summary",
    "Posted",
)
HEADER_LINE: Final[str] = "\t".join(HEADER)

#: Lines generated (and written) per chunk.
CHUNK_ROWS: Final[int] = 100_000

#: Structural dirt, in parts per million of the lines after the header.
DIRT_PPM: Final[dict[str, int]] = {
    "header_row": 1_000,
    "duplicate": 500,
    "malformed": 500,
    "empty": 100,
}

_PPM: Final[int] = 1_000_000
_SUMMARY_MAX: Final[int] = 135
_FIRST_DAY: Final[dt.date] = dt.date(1940, 1, 1)
_LAST_DAY: Final[dt.date] = dt.date(2019, 12, 31)
_FIRST_POSTED: Final[dt.date] = dt.date(1998, 3, 1)
_CITIES_PER_CATEGORY: Final[int] = 128

ObjArray = npt.NDArray[np.object_]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Picker = Callable[[random.Random], str]

# ---------------------------------------------------------------------------
# Word lists and weights (the module's own; weights are rough NUFORC-like
# frequencies, not copied data).
# ---------------------------------------------------------------------------

_US_STATES: Final[tuple[tuple[str, int], ...]] = (
    ("CA", 13500),
    ("FL", 6500),
    ("WA", 5900),
    ("TX", 4950),
    ("NY", 4700),
    ("AZ", 4000),
    ("PA", 3900),
    ("IL", 3600),
    ("OH", 3550),
    ("MI", 3000),
    ("NC", 2900),
    ("OR", 2600),
    ("CO", 2300),
    ("GA", 2100),
    ("NJ", 2000),
    ("IN", 1900),
    ("VA", 1900),
    ("MO", 1900),
    ("MA", 1700),
    ("WI", 1700),
    ("TN", 1600),
    ("SC", 1500),
    ("MN", 1400),
    ("KY", 1200),
    ("CT", 1100),
    ("NV", 1100),
    ("NM", 1000),
    ("MD", 1000),
    ("UT", 900),
    ("OK", 900),
    ("AL", 900),
    ("LA", 800),
    ("IA", 800),
    ("KS", 700),
    ("AR", 700),
    ("ID", 650),
    ("NH", 650),
    ("ME", 650),
    ("MT", 600),
    ("WV", 600),
    ("MS", 500),
    ("NE", 450),
    ("AK", 400),
    ("HI", 400),
    ("VT", 350),
    ("RI", 300),
    ("WY", 250),
    ("DE", 250),
    ("SD", 250),
    ("ND", 170),
    ("DC", 136),
    ("PR", 37),
)
_CA_PROVINCES: Final[tuple[tuple[str, int], ...]] = (
    ("ON", 2100),
    ("BC", 1030),
    ("AB", 540),
    ("QC", 250),
    ("MB", 220),
    ("NS", 200),
    ("NB", 180),
    ("SK", 150),
    ("PE", 24),
    ("NT", 24),
    ("YT", 21),
    ("NL", 12),
    ("NU", 3),
    ("PQ", 100),
    ("NF", 40),
    ("YK", 6),
)
_INVALID_STATES: Final[tuple[tuple[str, int], ...]] = (
    ("SA", 40),
    ("XX", 4),
    ("GU", 3),
    ("VI", 2),
)
_FOREIGN_WEIGHT: Final[int] = 8640

_ROOTS: Final[tuple[str, ...]] = (
    "Oak",
    "Cedar",
    "Maple",
    "Pine",
    "Elm",
    "Willow",
    "Ash",
    "Birch",
    "Spring",
    "River",
    "Stone",
    "Rock",
    "Clear",
    "Fair",
    "Green",
    "Red",
    "Silver",
    "Gold",
    "Iron",
    "Copper",
    "Salt",
    "Sand",
    "Shadow",
    "Sun",
    "Star",
    "Eagle",
    "Hawk",
    "Bear",
    "Wolf",
    "Fox",
    "Deer",
    "Elk",
    "Buffalo",
    "Mill",
    "Bridge",
    "Brook",
    "Glen",
    "High",
    "Pleasant",
    "Union",
    "Liberty",
    "Franklin",
    "Madison",
    "Jackson",
    "Lincoln",
    "Clinton",
    "Warren",
    "Marion",
    "Chester",
    "Milton",
    "Hamilton",
    "Salem",
    "Bristol",
    "Dover",
    "Auburn",
    "Newport",
    "Camden",
    "Harris",
    "Walker",
    "Morgan",
    "Grant",
    "Carter",
    "Hudson",
    "Dayton",
    "Lexington",
    "Monroe",
    "Clay",
    "Wayne",
    "Shelby",
    "Logan",
    "Fulton",
    "Cherry",
    "Apple",
    "Laurel",
    "Holly",
    "Magnolia",
    "Hickory",
    "Walnut",
    "Summer",
    "Winter",
    "Crystal",
    "Blue",
    "White",
    "Black",
    "Long",
    "Round",
    "Bell",
    "King",
    "Queen",
    "Prince",
    "Mason",
    "Stanton",
    "Ellis",
    "Kent",
)
_SUFFIXES: Final[tuple[str, ...]] = (
    "field",
    "ville",
    "ton",
    "burg",
    "dale",
    "wood",
    "port",
    "land",
    "ford",
    "view",
    "mont",
    "ridge",
    "side",
    "haven",
    "crest",
    "brook",
    "water",
    "bury",
    "ham",
    "worth",
    "more",
    "stead",
    "wick",
    "by",
)
_WORD_SUFFIXES: Final[tuple[str, ...]] = (
    "Falls",
    "Springs",
    "City",
    "Creek",
    "Point",
    "Hill",
    "Hills",
    "Grove",
    "Park",
    "Valley",
    "Heights",
    "Harbor",
    "Beach",
    "Junction",
    "Center",
    "Lake",
    "Bluff",
    "Rapids",
    "Landing",
    "Station",
)
_PREFIX_WORDS: Final[tuple[str, ...]] = (
    "Lake",
    "Mount",
    "New",
    "Fort",
    "Port",
    "East",
    "West",
    "North",
    "South",
    "St.",
    "Saint",
    "Glen",
    "Cape",
    "Grand",
)
_ELISIONS: Final[tuple[str, ...]] = ("Ours", "Eau", "Orme", "Argent", "Or", "Aulne")
_SPANISH_PARTS: Final[tuple[str, ...]] = (
    "San Marcos",
    "Santa Rita",
    "Los Robles",
    "El Paso Verde",
    "La Mesa Alta",
    "Cañon Blanco",
    "Peñasco",
    "Española Vieja",
    "San Isidro",
    "Agua Dulce",
    "Las Palmas",
    "Del Norte",
    "Sierra Vista Sur",
    "Vista Hermosa",
)
_FRENCH_ROOTS: Final[tuple[str, ...]] = (
    "Saint-Jérôme-du-Lac",
    "Sainte-Agathe",
    "Rivière-Blanche",
    "Lac-Étchemin",
    "Trois-Pistoles-Nord",
    "Beaumont-sur-Mer",
    "Saint-Félix",
    "Val-des-Bois",
    "Mont-Royal-Est",
    "Pointe-aux-Érables",
    "Chênevert",
    "Saint-Rémi",
    "Notre-Dame-des-Prés",
    "Îles-du-Havre",
    "Gaspé-Ouest",
    "Lévisville",
)
_FOREIGN: Final[tuple[tuple[str, int, tuple[str, ...]], ...]] = (
    (
        "UK/England",
        2350,
        (
            "London",
            "Manchester",
            "Birmingham",
            "Leeds",
            "Bristol",
            "Liverpool",
            "Sheffield",
            "Nottingham",
            "Leicester",
            "Norwich",
            "Plymouth",
            "Brighton",
            "York",
            "Oxford",
            "Cambridge",
            "Coventry",
            "Reading",
            "Derby",
            "Southampton",
            "Exeter",
        ),
    ),
    (
        "Australia",
        490,
        (
            "Sydney",
            "Melbourne",
            "Brisbane",
            "Perth",
            "Adelaide",
            "Hobart",
            "Darwin",
            "Cairns",
            "Geelong",
            "Townsville",
        ),
    ),
    (
        "Mexico",
        300,
        (
            "Mexico City",
            "Guadalajara",
            "Monterrey",
            "Tijuana",
            "Puebla",
            "Cancún",
            "Mérida",
            "Ensenada",
            "Querétaro",
        ),
    ),
    ("India", 160, ("Mumbai", "Delhi", "Bangalore", "Chennai", "Kolkata", "Pune", "Hyderabad")),
    (
        "Germany",
        120,
        ("Berlin", "Hamburg", "München", "Köln", "Frankfurt", "Stuttgart", "Düsseldorf"),
    ),
    ("Netherlands", 100, ("Amsterdam", "Rotterdam", "Utrecht", "Den Haag", "Eindhoven")),
    ("UK/Scotland", 200, ("Glasgow", "Edinburgh", "Aberdeen", "Dundee", "Inverness", "Perth")),
    ("UK/Wales", 110, ("Cardiff", "Swansea", "Newport", "Wrexham")),
    ("Ireland", 100, ("Dublin", "Cork", "Galway", "Limerick", "Sligo")),
    ("New Zealand", 110, ("Auckland", "Wellington", "Christchurch", "Dunedin")),
    ("South Africa", 90, ("Johannesburg", "Cape Town", "Durban", "Pretoria")),
    ("Brazil", 60, ("São Paulo", "Rio de Janeiro", "Brasília", "Curitiba")),
    ("Philippines", 70, ("Manila", "Cebu", "Davao", "Quezon City")),
    ("Japan", 40, ("Tokyo", "Osaka", "Okinawa", "Sapporo")),
    ("France", 50, ("Paris", "Lyon", "Marseille", "Nice", "Toulouse")),
    ("Spain", 40, ("Madrid", "Barcelona", "Sevilla", "Málaga", "Valencia")),
    ("Italy", 40, ("Rome", "Milan", "Naples", "Turin", "Bologna")),
    ("Greece", 25, ("Athens", "Thessaloniki", "Crete")),
    ("Sweden", 30, ("Stockholm", "Göteborg", "Malmö", "Uppsala")),
    ("Norway", 20, ("Oslo", "Bergen", "Tromsø")),
    ("Israel", 25, ("Tel Aviv", "Haifa", "Jerusalem")),
    ("Turkey", 30, ("Istanbul", "Ankara", "Izmir", "Antalya")),
    ("Argentina", 25, ("Buenos Aires", "Córdoba", "Rosario")),
    ("Colombia", 20, ("Bogotá", "Medellín", "Cali")),
    ("Poland", 25, ("Warsaw", "Kraków", "Gdańsk")),
    ("Romania", 20, ("Bucharest", "Cluj-Napoca", "Iași")),
    ("Costa Rica", 15, ("San José", "Liberia", "Jacó")),
    ("Iceland", 10, ("Reykjavík", "Akureyri")),
)
_AT_SEA: Final[tuple[str, ...]] = (
    "Atlantic Ocean (at sea)",
    "Pacific Ocean (aboard ship)",
    "Gulf of Mexico (oil platform)",
    "In flight (over Atlantic)",
    "Caribbean Sea (cruise ship)",
    "(Unspecified location)",
)
_MX_REGIONS: Final[tuple[str, ...]] = (
    "Baja California",
    "Sonora",
    "Jalisco",
    "Quintana Roo",
    "Chihuahua",
)

_SHAPES: Final[tuple[tuple[str, int], ...]] = (
    ("Light", 24000),
    ("Circle", 12300),
    ("Triangle", 11000),
    ("Fireball", 9500),
    ("Unknown", 8500),
    ("Other", 8300),
    ("Sphere", 7900),
    ("Disk", 6200),
    ("Oval", 5500),
    ("Formation", 3800),
    ("Changing", 3100),
    ("Cigar", 2900),
    ("Flash", 2200),
    ("Rectangle", 2000),
    ("Cylinder", 1900),
    ("Diamond", 1700),
    ("Chevron", 1400),
    ("Egg", 1100),
    ("Teardrop", 1000),
    ("Cone", 480),
    ("Cross", 380),
)
_RARE_SHAPES: Final[tuple[tuple[str, int], ...]] = (
    ("TRIANGULAR", 4),
    ("Delta", 8),
    ("Round", 6),
    ("Flare", 5),
    ("Hexagon", 3),
    ("Crescent", 5),
    ("Pyramid", 3),
    ("Dome", 2),
)
_SHAPE_BLANK_SHARE: Final[float] = 0.033
_SHAPE_LOWER_SHARE: Final[float] = 0.0015
_SHAPE_UPPER_SHARE: Final[float] = 0.0005
_SHAPE_PADDED_SHARE: Final[float] = 0.0005

_HOUR_WEIGHTS: Final[tuple[float, ...]] = (
    6.0,
    4.6,
    3.4,
    3.0,
    2.3,
    2.4,
    1.9,
    1.4,
    1.2,
    1.4,
    1.7,
    1.8,
    2.1,
    1.9,
    1.9,
    2.1,
    2.4,
    3.7,
    6.0,
    8.9,
    12.7,
    16.9,
    15.8,
    11.5,
)
_MINUTE_SPECIAL: Final[dict[int, float]] = {
    0: 0.40,
    30: 0.19,
    45: 0.062,
    15: 0.056,
    20: 0.03,
    50: 0.027,
    40: 0.025,
    10: 0.024,
    35: 0.017,
    5: 0.017,
    25: 0.015,
    55: 0.012,
}
_DECADE_YEAR_WEIGHTS: Final[dict[int, tuple[float, ...]]] = {
    1940: (8, 9, 10, 11, 12, 14, 16, 24, 22, 21),
    1950: (40, 42, 60, 55, 58, 52, 54, 58, 62, 69),
    1960: (110, 115, 120, 130, 150, 190, 200, 190, 200, 235),
    1970: (260, 270, 280, 300, 310, 320, 300, 310, 300, 300),
    1980: (240, 240, 250, 250, 250, 260, 250, 260, 270, 280),
    1990: (350, 380, 420, 480, 560, 1350, 1450, 1700, 1900, 2350),
    2000: (3000, 3400, 3600, 3800, 4200, 4300, 4100, 4400, 5200, 5200),
    2010: (4500, 5000, 7300, 7800, 8300, 6800, 5900, 4600, 3600, 2700),
}
_MONTH_NAMES: Final[tuple[str, ...]] = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)

# Date / Time styles: (ppm, date format index, time format index, date only).
# Date formats: 0 M/D/YY, 1 MM/DD/YYYY, 2 M/D/YYYY.
# Time formats: 0 " HH:MM", 1 " H:MM:SS", 2 " H:MM".
_ST_SHORT, _ST_LONG, _ST_KAGGLE, _ST_SHORT_DATE, _ST_LONG_DATE = 0, 1, 2, 3, 4
_ST_TIME_ONLY, _ST_BLANK, _ST_FREE, _ST_IMPOSSIBLE = 5, 6, 7, 8
_DT_STYLE_PPM: Final[tuple[int, ...]] = (
    936_700,
    40_000,
    6_000,
    13_000,
    2_000,
    1_000,
    500,
    300,
    500,
)
_DT_STYLE_DATE_FMT: Final[tuple[int, ...]] = (0, 1, 2, 0, 1, 0, 0, 0, 0)
_DT_STYLE_TIME_FMT: Final[tuple[int, ...]] = (0, 1, 2, 0, 0, 0, 0, 0, 0)
_DT_STYLE_DATE_ONLY: Final[tuple[bool, ...]] = (
    False,
    False,
    False,
    True,
    True,
    False,
    False,
    False,
    False,
)
_DT_ODD_SPACING_PPM: Final[int] = 1_000

# Posted styles: 0 M/D/YY, 1 MM/DD/YYYY, 2 M/D/YYYY, 3 blank, 4 junk.
_POSTED_STYLE_PPM: Final[tuple[int, ...]] = (959_200, 32_000, 8_000, 500, 300)
_POSTED_BEFORE_PPM: Final[int] = 100

# Location variants: 0 clean, 1 lowercase state, 2 TitleCase state,
# 3 padded state, 4 blank state, 5 blank city.
_LOC_VARIANT_PPM: Final[tuple[int, ...]] = (997_900, 1_000, 300, 300, 1_500, 500)

_SUMMARY_BLANK_PPM: Final[int] = 1_000
_SUMMARY_PADDED_PPM: Final[int] = 500

# ---------------------------------------------------------------------------
# Summary text (the module's own phrases).
# ---------------------------------------------------------------------------

_COLORS: Final[tuple[str, ...]] = (
    "bright white",
    "orange",
    "reddish-orange",
    "red",
    "green",
    "blue",
    "amber",
    "yellow",
    "silver",
    "metallic",
    "pulsating red",
    "flashing blue",
    "glowing orange",
    "dim white",
    "bright",
    "multicolored",
    "white",
    "golden",
    "greenish",
    "blinking red and green",
)
_SINGULAR: Final[tuple[str, ...]] = (
    "light",
    "orb",
    "sphere",
    "disc",
    "disk-shaped object",
    "triangle",
    "triangular craft",
    "cigar-shaped object",
    "fireball",
    "cylinder",
    "object",
    "craft",
    "star-like object",
    "boomerang-shaped craft",
    "chevron",
    "oval",
    "diamond-shaped object",
    "ball of light",
    "egg-shaped object",
    "rectangle",
)
_PLURAL: Final[tuple[str, ...]] = (
    "lights",
    "orbs",
    "spheres",
    "fireballs",
    "objects",
    "crafts",
    "star-like objects",
    "balls of light",
    "discs",
    "points of light",
)
_COUNTS: Final[tuple[str, ...]] = (
    "Two",
    "Three",
    "Four",
    "Five",
    "Six",
    "Several",
    "Multiple",
    "Dozens of",
    "A group of",
    "A line of",
    "A cluster of",
    "About 10",
    "7",
)
_MOTIONS_SING: Final[tuple[str, ...]] = (
    "hovering",
    "moving slowly",
    "moving very fast",
    "zig-zagging",
    "descending",
    "rising",
    "darting back and forth",
    "drifting",
    "hovering silently",
    "flying low",
    "pulsating",
    "changing colors",
    "rotating",
    "stationary",
    "blinking",
    "traveling in a straight line",
    "making sharp turns",
    "following our car",
    "circling",
)
_MOTIONS_PLUR: Final[tuple[str, ...]] = (
    "hovering",
    "moving in formation",
    "flying in a line",
    "moving slowly",
    "changing positions",
    "drifting",
    "rising one by one",
    "circling",
    "pulsing in sequence",
    "fading in and out",
    "traveling together",
)
_PLACES: Final[tuple[str, ...]] = (
    "to the north",
    "toward the NE",
    "across the sky",
    "over the lake",
    "over the highway",
    "above the treeline",
    "over our house",
    "near the airport",
    "from east to west",
    "from south to north",
    "over the mountains",
    "above the city",
    "over the ocean",
    "low on the horizon",
    "high in the sky",
    "over the field behind my house",
    "near the power lines",
    "over the bay",
    "above the interstate",
    "in the western sky",
    "over the river",
    "directly overhead",
)
_ENDINGS: Final[tuple[str, ...]] = (
    ", then vanished.",
    ", then shot straight up.",
    " and disappeared behind clouds.",
    " for about 5 minutes.",
    " with no sound.",
    " before fading out.",
    ", then split into two.",
    " and then blinked out.",
    ".",
    ".",
    ".",
    " at high speed.",
    " for several minutes.",
    " then moved off to the south.",
    ", no sound, no blinking lights.",
    "!",
    "!!",
    "...",
    " ",
    ", it was not a plane.",
    " and then it was gone.",
)
_OPENERS: Final[tuple[str, ...]] = (
    "Driving home on I-{n}, we saw",
    "While walking the dog, I saw",
    "Looking out my kitchen window I noticed",
    "Me and my friend saw",
    "My wife and I observed",
    "Woke up at {h}am and saw",
    "On my way to work I saw",
    "Sitting on the porch, we watched",
    "Camping near the lake we saw",
    "While taking out the trash I saw",
    "At about {h}:{mm} pm",
    "Outside smoking I saw",
    "We witnessed",
    "I was fishing and saw",
    "Coming home from the store, noticed",
    "Observed",
    "Saw",
    "Witnessed",
    "Spotted",
)
_SECOND: Final[tuple[str, ...]] = (
    "My wife and I watched it.",
    "No sound at all.",
    "Not a plane or helicopter.",
    "I have never seen anything like this.",
    "It was not a satellite.",
    "My son took a video.",
    "Several neighbors saw it too.",
    "It was too fast for an aircraft.",
    "Witnessed by {n} people.",
    "Photos available.",
    "The dog was barking.",
    "It returned the next night.",
    "I'm a pilot and I can't explain it.",
    "It didn't make any noise.",
    "We pulled over to watch it.",
    "There was no wind that night.",
    "I've seen it three times now.",
    "It was about the size of a car.",
    "Clear sky, lots of stars.",
    "My phone camera wouldn't focus on it.",
    "It moved against the wind.",
    "It was brighter than Venus.",
    "The light was very intense.",
    "Then another one appeared.",
    "I was scared, my heart was racing.",
    "This is the second time I've seen this.",
    "I'm still shaking.",
    "It seemed to be watching us.",
    "Could not have been a drone.",
    "Lasted about {n} minutes.",
    "Then it just disappeared, like that.",
    "We called the police, they said they'd look into it.",
    "It hovered, then left at incredible speed.",
    "Please contact me.",
)
_NOTES: Final[tuple[str, ...]] = (
    "Witness indicates the date is approximate.",
    "Possible star? PD",
    "Possible satellite.",
    "Sighting of the ISS?",
    "Report is anonymous; no contact information.",
    "Possible rocket launch.",
    "We suspect a planet, possibly Venus.",
    "Possible lanterns.",
    "Date may be flawed.",
    "Student report??",
    "Possible hoax.",
    "Possible flares.",
    "Witness is a pilot.",
    "Missile launch from Vandenberg AFB?",
    "Possible aircraft.",
)
_ENTITY_SNIPPETS: Final[tuple[str, ...]] = (
    " Size was &lt;1 mile away.",
    " Moved -&gt; east.",
    " Lights &amp; sound.",
    " It said &quot;hello&quot; on the radio.",
    " It wasn&#39;t a plane.",
    " It wasn&#39t moving.",
    " Red&#44 white and blue lights.",
    " Big&#44; bright&#44; silent.",
    " &gt;10 lights.",
    " &lt 5 seconds.",
    " &amp;quot;Saucer&amp;quot; shape.",
    " We didn&#8217;t know what it was.",
    " Me &amp; my son.",
    " &quot;Ball&quot; of fire.",
    " Tom &amp Jerry St.",
)
_NONASCII_SNIPPETS: Final[tuple[str, ...]] = (
    " It was… strange.",
    " We were at the café.",
    " “Impossible” speed.",
    " It didn’t make a sound.",
    " About 45° above the horizon.",
    " Appeared 2\u00a0times.",
    " Bright—then gone.",
    " Très bizarre.",
    " Señor next door saw it too.",
    " ‘Orb’ like.",
    " Naïve me, I filmed it.",
)
_QUOTE_SNIPPETS: Final[tuple[str, ...]] = (
    ' It looked like a "star" but moved.',
    " About 6\" wide at arm's length.",
    ' My daughter said "look!"',
    ' The "craft" was silent.',
    ' Size of a dime held at arms length (1").',
    ' "Not a plane," I said.',
)


# ---------------------------------------------------------------------------
# Counting
# ---------------------------------------------------------------------------


def _rounded(ppm: int, k: int) -> int:
    """Return ``round(ppm * k / 1e6)`` with half-up rounding, in integers."""
    return (ppm * k + _PPM // 2) // _PPM


def _chunk_counts(start: int, n: int) -> dict[str, int]:
    """Return the structural dirt counts of the chunk ``[start, start + n)``.

    Parameters
    ----------
    start : int
        Index of the first line of the chunk (0 = first line after header).
    n : int
        Number of lines in the chunk.

    Returns
    -------
    dict[str, int]
        Counts for ``header_row``, ``duplicate``, ``malformed`` and ``empty``.
        The total is capped at ``n - 1`` (the chunk's first line is clean),
        taking away from ``empty``, then ``malformed``, ``duplicate`` and
        ``header_row``.
    """
    counts = {
        kind: _rounded(ppm, start + n) - _rounded(ppm, start) for kind, ppm in DIRT_PPM.items()
    }
    excess = sum(counts.values()) - max(n - 1, 0)
    for kind in ("empty", "malformed", "duplicate", "header_row"):
        if excess <= 0:
            break
        cut = min(excess, counts[kind])
        counts[kind] -= cut
        excess -= cut
    return counts


def plan_counts(rows: int) -> dict[str, int]:
    """Return how many lines of each kind ``generate(rows, ...)`` writes.

    The counts do not depend on the seed.

    Parameters
    ----------
    rows : int
        Number of lines after the header.

    Returns
    -------
    dict[str, int]
        ``lines`` (= ``rows``), ``header_row``, ``duplicate``, ``malformed``,
        ``empty`` and ``clean`` (the generated 7-field records, which are the
        sources of the duplicates). Barring astronomically unlikely
        coincidences, the only exact duplicates are the ``duplicate`` lines.
    """
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    total = dict.fromkeys(DIRT_PPM, 0)
    for start in range(0, rows, CHUNK_ROWS):
        for kind, count in _chunk_counts(start, min(CHUNK_ROWS, rows - start)).items():
            total[kind] += count
    clean = rows - sum(total.values())
    return {"lines": rows, **total, "clean": clean}


# ---------------------------------------------------------------------------
# Pools
# ---------------------------------------------------------------------------


def _cdf(weights: Sequence[float] | FloatArray) -> FloatArray:
    """Return the normalised cumulative distribution of ``weights``."""
    cum = np.cumsum(np.asarray(weights, dtype=np.float64))
    out: FloatArray = cum / cum[-1]
    return out


def _draw(rng: np.random.Generator, cdf: FloatArray, n: int) -> IntArray:
    """Draw ``n`` category indices from a cumulative distribution."""
    idx = np.searchsorted(cdf, rng.random(n), side="right")
    out: IntArray = np.minimum(idx, len(cdf) - 1).astype(np.int64)
    return out


def _obj(values: Sequence[str]) -> ObjArray:
    """Return a 1-D object array holding ``values``."""
    arr: ObjArray = np.empty(len(values), dtype=object)
    arr[:] = list(values)
    return arr


def _check_clean(values: Sequence[str], what: str) -> None:
    """Fail if a pooled field value holds a TAB, CR, LF, VT or FF."""
    bad = re.compile(r"[\t\r\n\x0b\x0c]")
    for v in values:
        if bad.search(v):
            raise AssertionError(f"{what} pool value holds a control character: {v!r}")


def _fmt_date(d: dt.date, fmt: int) -> str:
    """Format a date as ``M/D/YY`` (0), ``MM/DD/YYYY`` (1) or ``M/D/YYYY`` (2)."""
    if fmt == 0:
        return f"{d.month}/{d.day}/{d.year % 100:02d}"
    if fmt == 1:
        return f"{d.month:02d}/{d.day:02d}/{d.year:04d}"
    return f"{d.month}/{d.day}/{d.year}"


def _city_name(r: random.Random) -> str:
    """Return a synthetic US-style town name."""
    root = r.choice(_ROOTS)
    x = r.random()
    if x < 0.40:
        return root + r.choice(_SUFFIXES)
    if x < 0.62:
        return f"{root} {r.choice(_WORD_SUFFIXES)}"
    if x < 0.80:
        return f"{r.choice(_PREFIX_WORDS)} {root}"
    if x < 0.88:
        return f"{r.choice(_PREFIX_WORDS)} {root}{r.choice(_SUFFIXES)}"
    if x < 0.93:
        return r.choice(_SPANISH_PARTS)
    if x < 0.96:
        return f"{r.choice(('Pointe', 'Prairie', 'Lac', 'Isle', 'Bois'))} d'{r.choice(_ELISIONS)}"
    return root


def _city_note(r: random.Random, city: str, other: str, other2: str) -> str:
    """Decorate ``city`` with a NUFORC-like parenthetical note."""
    x = r.random()
    if x < 0.35:
        return f"{city} (near {other})"
    if x < 0.45:
        return f"{city} (between {other} and {other2})"
    if x < 0.55:
        return f"{city} ({other} area)"
    if x < 0.63:
        return f"{city} (outside {other})"
    if x < 0.73:
        return f"{city} ({r.choice(('north', 'south', 'east', 'west'))} of {other})"
    if x < 0.81:
        return f"{city} (I-{r.choice((5, 10, 15, 20, 35, 40, 70, 75, 80, 90, 95))})"
    if x < 0.87:
        return f"{city} (Hwy {r.randint(1, 399)})"
    if x < 0.93:
        return f"{city} ({other})"
    if x < 0.97:
        return f"{city} (rural)"
    return f"{city} ( near {other})"


def _unique_names(r: random.Random, k: int, make: Callable[[], str]) -> list[str]:
    """Return ``k`` names from ``make``, distinct when possible."""
    seen: set[str] = set()
    out: list[str] = []
    tries = 0
    while len(out) < k:
        name = make()
        tries += 1
        if name in seen and tries < 50 * k:
            continue
        seen.add(name)
        out.append(name)
    return out


def _category_cities(r: random.Random, code: str, kind: str) -> list[str]:
    """Return the city list of one state category.

    Parameters
    ----------
    r : random.Random
        Source of randomness.
    code : str
        The state code written in the file (``""`` for foreign places).
    kind : str
        ``us``, ``ca``, ``qc``, ``foreign``, ``au`` or ``vi``.

    Returns
    -------
    list[str]
        ``_CITIES_PER_CATEGORY`` city values, most frequent first.
    """
    k = _CITIES_PER_CATEGORY
    if kind == "us":
        base = _unique_names(r, k, lambda: _city_name(r))
        out = []
        for name in base:
            if r.random() < 0.05:
                name = _city_note(r, name, r.choice(base), r.choice(base))
            out.append(name)
        return out
    if kind in ("ca", "qc"):

        def make_ca() -> str:
            if kind == "qc" or r.random() < 0.08:
                name = r.choice(_FRENCH_ROOTS)
                if r.random() < 0.5:
                    name = f"{name}-{r.choice(_ROOTS)}"
            else:
                name = _city_name(r)
            if r.random() < 0.05:
                name = f"{name} (near {_city_name(r)})"
            return f"{name} (Canada)"

        return _unique_names(r, k, make_ca)
    if kind == "foreign":
        weights = [w for _, w, _ in _FOREIGN]

        def make_foreign() -> str:
            x = r.random()
            if x < 0.02:
                return r.choice(_AT_SEA)
            country, _, cities = r.choices(_FOREIGN, weights=weights)[0]
            city = r.choice(cities)
            if x < 0.10:
                city = _city_name(r)
            if country == "Mexico" and r.random() < 0.3:
                return f"{city} ({r.choice(_MX_REGIONS)})({country})"
            if r.random() < 0.04:
                return f"{city} (near {r.choice(cities)}) ({country})"
            return f"{city} ({country})"

        return _unique_names(r, k, make_foreign)
    if kind == "au":
        return _unique_names(
            r, k, lambda: f"{r.choice(_FOREIGN[1][2] + (_city_name(r),))} (Australia)"
        )
    if kind == "vi":
        return _unique_names(
            r,
            k,
            lambda: (
                f"{r.choice(('St. Thomas', 'St. Croix', 'St. John'))}"
                f"{r.choice(('', ' (USVI)', ' (Virgin Islands)'))}"
            ),
        )
    return _unique_names(r, k, lambda: _city_name(r))


@dataclass(frozen=True)
class _Pools:
    """Pre-built strings and distributions shared by every chunk."""

    year_cdf: FloatArray
    year_start: IntArray
    year_len: IntArray
    hour_cdf: FloatArray
    minute_cdf: FloatArray
    date_pool: ObjArray  # (3, n_days)
    time_pool: ObjArray  # (3, 1441); column 1440 is ""
    dt_style_cdf: FloatArray
    dt_style_date_fmt: IntArray
    dt_style_time_fmt: IntArray
    dt_style_date_only: npt.NDArray[np.bool_]
    free_text: ObjArray
    impossible: ObjArray
    posted_style_cdf: FloatArray
    posted_junk: ObjArray
    first_posted: int
    last_day: int
    loc_pool: ObjArray  # (6, n_categories, K): "city\tstate"
    loc_cat_cdf: FloatArray
    loc_city_cdf: FloatArray
    loc_variant_cdf: FloatArray
    shape_pool: ObjArray
    shape_cdf: FloatArray
    duration_pool: ObjArray
    summary_head: ObjArray
    summary_tail: ObjArray
    header_variants: ObjArray


def _build_year_tables() -> tuple[FloatArray, IntArray, IntArray]:
    """Return the year CDF and each year's first day offset and length."""
    weights: list[float] = []
    starts: list[int] = []
    lens: list[int] = []
    for decade in sorted(_DECADE_YEAR_WEIGHTS):
        for i, w in enumerate(_DECADE_YEAR_WEIGHTS[decade]):
            year = decade + i
            first = dt.date(year, 1, 1)
            weights.append(w)
            starts.append((first - _FIRST_DAY).days)
            lens.append((dt.date(year + 1, 1, 1) - first).days)
    return (
        _cdf(weights),
        np.asarray(starts, dtype=np.int64),
        np.asarray(lens, dtype=np.int64),
    )


def _build_time_pool() -> ObjArray:
    """Return the ``(3, 1441)`` pool of time suffixes (with leading space)."""
    pool: ObjArray = np.empty((3, 1441), dtype=object)
    for m in range(1440):
        h, mi = divmod(m, 60)
        pool[0, m] = f" {h:02d}:{mi:02d}"
        pool[1, m] = f" {h}:{mi:02d}:00"
        pool[2, m] = f" {h}:{mi:02d}"
    pool[:, 1440] = ""
    return pool


def _build_free_text(r: random.Random, k: int) -> list[str]:
    """Return ``k`` unparseable free-text ``Date / Time`` values."""

    def hm() -> str:
        return f"{r.choice((19, 20, 21, 22, 23, 0, 1))}:{r.choice(('00', '15', '30', '45', '05'))}"

    makers: tuple[Callable[[], str], ...] = (
        lambda: f"summer {r.randint(1947, 1999)} {hm()}",
        lambda: f"{r.choice(_MONTH_NAMES)} {r.randint(1950, 2010)} {hm()}",
        lambda: f"{r.randint(1, 12)}/?/{r.randint(50, 99)} {hm()}",
        lambda: f"{r.randint(1, 12):02d}/0?/{r.randint(60, 99)} {hm()}",
        lambda: f"{r.randint(1, 12)}/ {hm()}",
        lambda: f"{(y := r.randint(1960, 2005))}-{y + 1} {hm()}",
        lambda: f"early {r.choice((1950, 1960, 1970, 1980, 1990))}s",
        lambda: f"{r.randint(1, 12)}-{r.randint(1, 28)}-{r.randint(10, 99)} {hm()}",
        lambda: f"{r.randint(1, 12)}/{r.randint(1, 28)}/{r.randint(10, 99)} {r.randint(1, 11)}pm",
        lambda: f"{r.randint(1, 12)}/{r.randint(1, 28)}/{r.randint(10, 99)} ??:??",
        lambda: f"?/?/{r.randint(60, 99)}",
        lambda: str(r.randint(30000, 43000)),
        lambda: f"{r.randint(1, 12)}/{r.randint(1, 28)} {hm()}",
        lambda: f"{r.randint(1, 12)}/{r.randint(1, 28)}/{r.randint(10, 99)} {r.randint(19, 23)}",
        lambda: f"{r.randint(1, 12)}/{r.randint(1, 28)}/{r.randint(100, 999)} {hm()}",
        lambda: f"{r.randint(1, 12)}/{r.randint(1, 28)}/{r.randint(10, 99)}{hm()}",
        lambda: "unknown",
        lambda: f"fall {r.randint(1965, 1995)}",
    )
    return [r.choice(makers)() for _ in range(k)]


def _build_impossible(r: random.Random, k: int) -> list[str]:
    """Return ``k`` well-shaped but impossible ``Date / Time`` values."""

    def yy() -> str:
        return f"{r.randint(0, 19) if r.random() < 0.7 else r.randint(70, 99):02d}"

    def bad_leap_yy() -> str:
        return f"{r.choice((1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15, 17, 18, 19, 97, 99)):02d}"

    def hm() -> str:
        return f"{r.choice((20, 21, 22, 23))}:{r.choice(('00', '30', '15'))}"

    makers: tuple[Callable[[], str], ...] = (
        lambda: f"2/30/{yy()} {hm()}",
        lambda: f"2/31/{yy()} {hm()}",
        lambda: f"2/29/{bad_leap_yy()} {hm()}",
        lambda: f"13/{r.randint(1, 28)}/{yy()} {hm()}",
        lambda: f"{r.choice((4, 6, 9, 11))}/31/{yy()} {hm()}",
        lambda: f"0/{r.randint(1, 28)}/{yy()} {hm()}",
        lambda: f"{r.randint(1, 12)}/0/{yy()} {hm()}",
        lambda: f"{r.randint(1, 12)}/{r.randint(32, 99)}/{yy()} {hm()}",
        lambda: f"{r.randint(1, 12)}/{r.randint(1, 28)}/{yy()} 25:61",
        lambda: f"{r.randint(1, 12)}/{r.randint(1, 28)}/{yy()} 24:00",
        lambda: f"{r.randint(1, 12)}/{r.randint(1, 28)}/{yy()} 23:60",
        lambda: f"{r.randint(1, 12):02d}/{r.randint(1, 28):02d}/{r.randint(1990, 2015)} 21:00:60",
        lambda: f"{r.randint(1, 12)}/{r.randint(1, 28)}/0000 {hm()}",
        lambda: f"02/29/1900 {r.randint(19, 23)}:00:00",
        lambda: "00/00/00 00:00",
    )
    return [r.choice(makers)() for _ in range(k)]


def _pick(r: random.Random, values: Sequence[int]) -> int:
    """Return one of ``values``, early ones more likely."""
    i = min(int(r.expovariate(1.0 / (len(values) / 3.0))), len(values) - 1)
    return values[i]


_MIN_VALUES: Final[tuple[int, ...]] = (
    5,
    2,
    10,
    3,
    1,
    15,
    4,
    20,
    30,
    45,
    6,
    8,
    7,
    25,
    40,
    60,
    90,
    12,
)
_SEC_VALUES: Final[tuple[int, ...]] = (30, 10, 5, 3, 15, 20, 2, 45, 4, 1, 6, 8, 60, 90, 40, 25)
_HOUR_VALUES: Final[tuple[int, ...]] = (1, 2, 3, 4, 5, 6, 8, 12, 10)


def _mins(r: random.Random) -> int:
    """Return a plausible number of minutes."""
    return _pick(r, _MIN_VALUES)


def _secs(r: random.Random) -> int:
    """Return a plausible number of seconds."""
    return _pick(r, _SEC_VALUES)


def _hrs(r: random.Random) -> int:
    """Return a plausible number of hours."""
    return _pick(r, _HOUR_VALUES)


def _span(r: random.Random, first: Callable[[random.Random], int]) -> tuple[int, int]:
    """Return a range ``(a, b)`` with ``a < b``."""
    a = first(r)
    return a, a + r.choice((1, 1, 2, 3, 5, 5, 10, 15))


# (weight, parseable by the contract rules, maker)
_DURATIONS: Final[tuple[tuple[float, bool, Picker], ...]] = (
    (29.0, True, lambda r: f"{_mins(r)} minutes"),
    (16.0, True, lambda r: f"{_secs(r)} seconds"),
    (4.7, True, lambda r: "{}-{} minutes".format(*_span(r, _mins))),
    (4.0, True, lambda r: f"{r.choice((1, 1, 1, 2))} minute"),
    (3.9, True, lambda r: f"{_mins(r)} min"),
    (2.9, True, lambda r: "{}-{} seconds".format(*_span(r, _secs))),
    (1.6, True, lambda r: f"{r.choice((1, 1, 1, 2))} hour"),
    (1.6, True, lambda r: f"{_mins(r)} min."),
    (1.5, True, lambda r: f"{_hrs(r)} hours"),
    (1.5, True, lambda r: f"{_mins(r)} mins"),
    (1.4, True, lambda r: f"{_secs(r)} sec"),
    (1.0, True, lambda r: f"{r.randint(0, 12)}:{r.choice((0, 30, 15, 45, 20, 10)):02d}"),
    (0.2, True, lambda r: f":{r.choice((30, 15, 45, 10, 20, 5)):02d}"),
    (0.8, True, lambda r: f"{_secs(r)} sec."),
    (0.8, True, lambda r: f"{_mins(r)}min"),
    (0.6, True, lambda r: f"~{_mins(r)} minutes"),
    (0.5, True, lambda r: f"{r.choice((1, 1, 2))} second"),
    (0.5, True, lambda r: "{}-{} min".format(*_span(r, _mins))),
    (0.4, True, lambda r: f"{_secs(r)} secs"),
    (0.3, True, lambda r: "{} to {} minutes".format(*_span(r, _mins))),
    (0.3, True, lambda r: f"{_mins(r)}minutes"),
    (0.3, True, lambda r: "{}-{} min.".format(*_span(r, _mins))),
    (0.3, True, lambda r: "{} to {} seconds".format(*_span(r, _secs))),
    (0.25, True, lambda r: f"{_secs(r)}sec"),
    (0.2, True, lambda r: f"about {_mins(r)} minutes"),
    (0.2, True, lambda r: f"~{_secs(r)} seconds"),
    (0.2, True, lambda r: f"{r.randint(1, 9)}.5 minutes"),
    (0.2, True, lambda r: f"{r.randint(1, 4)}.5 hrs"),
    (0.2, True, lambda r: f"<{r.choice((1, 1, 5))} minute"),
    (0.15, True, lambda r: f">{_mins(r)} minutes"),
    (0.15, True, lambda r: f"{_hrs(r)} hrs"),
    (0.15, True, lambda r: "{}-{} hours".format(*_span(r, _hrs))),
    (0.15, True, lambda r: f"{r.choice(('one', 'two', 'five', 'ten', 'a'))} minute"),
    (0.15, True, lambda r: "{} - {} minutes".format(*_span(r, _mins))),
    (0.1, True, lambda r: f"{_mins(r)} minutes or so"),
    (0.1, True, lambda r: f"approx. {_mins(r)} min"),
    (0.1, True, lambda r: f"approximately {_secs(r)} seconds"),
    (0.1, True, lambda r: "{} or {} minutes".format(*_span(r, _mins))),
    (0.1, True, lambda r: f"{_mins(r)} Minutes"),
    (0.05, True, lambda r: f"{_secs(r)} SECONDS"),
    (0.1, True, lambda r: f"{_mins(r)} minutes?"),
    (0.08, True, lambda r: f"{r.randint(1, 3)} days"),
    (0.08, True, lambda r: f"less than {_mins(r)} minutes"),
    (0.05, True, lambda r: f"over {_hrs(r)} hours"),
    (0.05, True, lambda _r: ".5 sec"),
    (0.05, True, lambda r: f"{_hrs(r)}h"),
    (0.2, True, lambda r: f" {_mins(r)} minutes "),
    # Not parseable under the contract rules.
    (1.89, False, lambda r: f"{_mins(r)}"),
    (1.26, False, lambda _r: "seconds"),
    (1.26, False, lambda _r: "unknown"),
    (0.525, False, lambda r: f"{_mins(r)}+ minutes"),
    (0.525, False, lambda _r: "ongoing"),
    (0.462, False, lambda _r: "few seconds"),
    (0.42, False, lambda _r: "?"),
    (0.357, False, lambda _r: "a few seconds"),
    (0.336, False, lambda _r: "hours"),
    (0.315, False, lambda _r: "few minutes"),
    (0.315, False, lambda _r: "several minutes"),
    (0.315, False, lambda _r: "minutes"),
    (0.21, False, lambda _r: "not sure"),
    (0.21, False, lambda _r: "all night"),
    (0.21, False, lambda _r: "1/2 hour"),
    (0.21, False, lambda _r: "Still happening"),
    (0.168, False, lambda _r: "continuous"),
    (0.168, False, lambda _r: "brief"),
    (0.168, False, lambda _r: "split second"),
    (0.168, False, lambda _r: "Unknown"),
    (0.126, False, lambda _r: "n/a"),
    (0.126, False, lambda _r: "several hours"),
    (0.126, False, lambda r: f"{r.randint(2, 5)} nights"),
    (0.126, False, lambda r: f"{_mins(r)} minutes, {_secs(r)} seconds"),
    (0.105, False, lambda r: f"{r.randint(1, 11)}:{r.choice((0, 30)):02d} pm"),
    (0.105, False, lambda r: f"{r.randint(8, 11)}pm-{r.randint(12, 12)}am"),
    (0.105, False, lambda r: f"since {r.randint(1990, 2015)}"),
    (0.105, False, lambda _r: "half hour"),
    (0.105, False, lambda r: f"{_mins(r)}-{_mins(r) + 5} mins each"),
    (0.105, False, lambda _r: "unk"),
    (0.105, False, lambda _r: "as long as I watched"),
    (0.105, False, lambda _r: "on and off"),
    (0.084, False, lambda _r: "instant"),
    (0.084, False, lambda _r: "15 minutes to 1 hour"),
    (0.084, False, lambda _r: "2 Hours 30 min"),
    (0.084, False, lambda _r: "still visible"),
)
_DURATION_BLANK_SHARE: Final[float] = 0.035
_DURATION_POOL: Final[int] = 40_000


def _build_durations(r: random.Random) -> list[str]:
    """Return a shuffled pool with the exact template composition."""
    total_w = sum(w for w, _, _ in _DURATIONS)
    n_blank = round(_DURATION_POOL * _DURATION_BLANK_SHARE)
    rest = _DURATION_POOL - n_blank
    out = [""] * n_blank
    for w, _, make in _DURATIONS:
        out.extend(make(r) for _ in range(round(rest * w / total_w)))
    r.shuffle(out)
    return out


def _sentence(r: random.Random) -> str:
    """Return one opening sentence of a summary."""
    plural = r.random() < 0.3
    color = r.choice(_COLORS)
    if plural:
        subj = f"{r.choice(_COUNTS)} {color} {r.choice(_PLURAL)}"
        motion = r.choice(_MOTIONS_PLUR)
    else:
        article = "An" if color[0] in "aeiou" else "A"
        subj = f"{article} {color} {r.choice(_SINGULAR)}"
        motion = r.choice(_MOTIONS_SING)
    if r.random() < 0.35:
        opener = r.choice(_OPENERS).format(
            n=r.choice((5, 10, 40, 75, 80, 95)),
            h=r.randint(1, 11),
            mm=r.choice(("00", "15", "30", "45")),
        )
        subj = f"{opener} {subj[0].lower()}{subj[1:]}"
    elif r.random() < 0.25:
        subj = subj.split(" ", 1)[1]
        subj = subj[0].upper() + subj[1:]
    text = f"{subj} {motion} {r.choice(_PLACES)}{r.choice(_ENDINGS)}"
    return text.rstrip() if r.random() < 0.9 else text


def _apply_text_dirt(r: random.Random, text: str, scale: float) -> str:
    """Add entities, quotes, non-ASCII and spacing oddities to ``text``."""
    if r.random() < 0.015 * scale:
        text += r.choice(_ENTITY_SNIPPETS)
    elif r.random() < 0.01 * scale and "," in text:
        text = text.replace(",", r.choice(("&#44", "&#44;")), 1)
    if r.random() < 0.03 * scale:
        text += r.choice(_QUOTE_SNIPPETS)
    if r.random() < 0.02 * scale:
        text += r.choice(_NONASCII_SNIPPETS)
    elif r.random() < 0.005 * scale:
        text = text.replace("'", "’")
    if r.random() < 0.03 * scale and " " in text:
        i = r.randrange(text.count(" "))
        parts = text.split(" ")
        parts[i] += " "
        text = " ".join(parts)
    return text


def _build_summary_heads(r: random.Random, k: int) -> list[str]:
    """Return the pool of summary openings."""
    out: list[str] = []
    for _ in range(k):
        text = _sentence(r)
        x = r.random()
        if x < 0.02:
            text = "((anonymous report)) " + text
        elif x < 0.027:
            text = "((HOAX??)) " + text
        elif x < 0.03:
            text = "((HOAX)) " + text
        elif x < 0.035:
            word = text.split(" ", 1)
            text = f'"{word[0]}" {word[1]}' if len(word) == 2 else text
        if r.random() < 0.01:
            text = text.upper()
        out.append(_apply_text_dirt(r, text, 1.0))
    return out


def _build_summary_tails(r: random.Random, k: int) -> list[str]:
    """Return the pool of summary continuations (may be empty)."""

    def second() -> str:
        return r.choice(_SECOND).format(n=r.choice((2, 3, 4, 5, 10)))

    def note() -> str:
        body = r.choice(_NOTES)
        if body.endswith("PD"):
            body = body[:-3]
        return f"((NUFORC Note: {body} PD))"

    out: list[str] = []
    for _ in range(k):
        x = r.random()
        if x < 0.33:
            text = ""
        elif x < 0.835:
            text = " " + second()
        elif x < 0.935:
            text = f" {second()} {second()}"
        elif x < 0.98:
            text = "  " + note() if r.random() < 0.2 else " " + note()
        elif x < 0.99:
            text = f" {second()} {note()}"
        else:
            text = " ((HOAX??))"
        if text:
            text = _apply_text_dirt(r, text, 0.5)
        out.append(text)
    return out


def _build_shapes() -> tuple[list[str], FloatArray]:
    """Return the shape values and their CDF."""
    main_total = sum(w for _, w in _SHAPES)
    values: list[str] = []
    weights: list[float] = []
    for name, w in _SHAPES:
        share = w / main_total
        values += [name, name.lower(), name.upper(), f" {name}", f"{name} "]
        weights += [
            share,
            share * _SHAPE_LOWER_SHARE,
            share * _SHAPE_UPPER_SHARE,
            share * _SHAPE_PADDED_SHARE / 2,
            share * _SHAPE_PADDED_SHARE / 2,
        ]
    for name, w in _RARE_SHAPES:
        values.append(name)
        weights.append(w / main_total)
    values.append("")
    weights.append(_SHAPE_BLANK_SHARE / (1.0 - _SHAPE_BLANK_SHARE) * sum(weights))
    return values, _cdf(weights)


def _build_locations(r: random.Random) -> tuple[ObjArray, FloatArray, FloatArray]:
    """Return the ``(6, categories, K)`` location pool and its two CDFs."""
    cats: list[tuple[str, float, str]] = [(c, w, "us") for c, w in _US_STATES]
    cats += [(c, w, "qc" if c in ("QC", "PQ") else "ca") for c, w in _CA_PROVINCES]
    cats += [(c, w, "au" if c == "SA" else "vi" if c == "VI" else "x") for c, w in _INVALID_STATES]
    cats.append(("", _FOREIGN_WEIGHT, "foreign"))
    k = _CITIES_PER_CATEGORY
    pool: ObjArray = np.empty((6, len(cats), k), dtype=object)
    for ci, (code, _, kind) in enumerate(cats):
        cities = _category_cities(r, code, kind)
        _check_clean(cities, "city")
        for j, city in enumerate(cities):
            pool[0, ci, j] = f"{city}\t{code}"
            pool[1, ci, j] = f"{city}\t{code.lower()}"
            pool[2, ci, j] = f"{city}\t{code.title()}"
            pool[3, ci, j] = f"{city}\t {code}" if j % 2 else f"{city}\t{code} "
            pool[4, ci, j] = f"{city}\t"
            pool[5, ci, j] = f"\t{code}"
    city_w = 1.0 / (np.arange(k, dtype=np.float64) + 3.0) ** 0.9
    return pool, _cdf([w for _, w, _ in cats]), _cdf(city_w)


def _header_variants() -> list[str]:
    """Return repeated-header lines: index 0 exact, the rest variants."""
    exact = list(HEADER)
    variants = [
        "\t".join(exact),
        "\t".join(h.lower() for h in exact),
        "\t".join(h.upper() for h in exact),
        "\t".join(f" {h} " for h in exact),
        "\t".join(exact) + " ",
        "\t".join([f"{exact[0]} ", *exact[1:]]),
        "\t".join(h.lower() if i % 2 else h for i, h in enumerate(exact)),
    ]
    return variants


@functools.lru_cache(maxsize=2)
def _build_pools(seed: int) -> _Pools:
    """Build every pool for ``seed`` (deterministically; cached, never mutated)."""
    ss = np.random.SeedSequence(seed, spawn_key=(0,))
    r = random.Random(int(ss.generate_state(1, dtype=np.uint64)[0]))

    year_cdf, year_start, year_len = _build_year_tables()
    minute_w = np.full(60, 0.0, dtype=np.float64)
    rest_share = 1.0 - sum(_MINUTE_SPECIAL.values())
    n_plain = 60 - len(_MINUTE_SPECIAL)
    for m in range(60):
        minute_w[m] = _MINUTE_SPECIAL.get(m, rest_share / n_plain)

    n_days = (_LAST_DAY - _FIRST_DAY).days + 1
    date_pool: ObjArray = np.empty((3, n_days), dtype=object)
    for i in range(n_days):
        d = _FIRST_DAY + dt.timedelta(days=i)
        for f in range(3):
            date_pool[f, i] = _fmt_date(d, f)

    free_text = _build_free_text(r, 400)
    impossible = _build_impossible(r, 400)
    posted_junk = [
        "unknown",
        "2/30/05",
        "13/13/13",
        "12/05/20l4",
        "1/1/0",
        "00/00/00",
        "?",
        "N/A",
        "2014-12-05",
        "5/32/08",
        "soon",
        "11/2014",
    ]
    loc_pool, loc_cat_cdf, loc_city_cdf = _build_locations(r)
    shapes, shape_cdf = _build_shapes()
    durations = _build_durations(r)
    heads = _build_summary_heads(r, 20_000)
    tails = _build_summary_tails(r, 5_000)
    for values, what in (
        (free_text, "date"),
        (impossible, "date"),
        (posted_junk, "posted"),
        (shapes, "shape"),
        (durations, "duration"),
        (heads, "summary"),
        (tails, "summary"),
    ):
        _check_clean(values, what)

    return _Pools(
        year_cdf=year_cdf,
        year_start=year_start,
        year_len=year_len,
        hour_cdf=_cdf(_HOUR_WEIGHTS),
        minute_cdf=_cdf(minute_w),
        date_pool=date_pool,
        time_pool=_build_time_pool(),
        dt_style_cdf=_cdf(_DT_STYLE_PPM),
        dt_style_date_fmt=np.asarray(_DT_STYLE_DATE_FMT, dtype=np.int64),
        dt_style_time_fmt=np.asarray(_DT_STYLE_TIME_FMT, dtype=np.int64),
        dt_style_date_only=np.asarray(_DT_STYLE_DATE_ONLY, dtype=np.bool_),
        free_text=_obj(free_text),
        impossible=_obj(impossible),
        posted_style_cdf=_cdf(_POSTED_STYLE_PPM),
        posted_junk=_obj(posted_junk),
        first_posted=(_FIRST_POSTED - _FIRST_DAY).days,
        last_day=n_days - 1,
        loc_pool=loc_pool,
        loc_cat_cdf=loc_cat_cdf,
        loc_city_cdf=loc_city_cdf,
        loc_variant_cdf=_cdf(_LOC_VARIANT_PPM),
        shape_pool=_obj(shapes),
        shape_cdf=shape_cdf,
        duration_pool=_obj(durations),
        summary_head=_obj(heads),
        summary_tail=_obj(tails),
        header_variants=_obj(_header_variants()),
    )


# ---------------------------------------------------------------------------
# Chunks
# ---------------------------------------------------------------------------


def _fill_from(
    out: list[str], positions: IntArray, pool: ObjArray, rng: np.random.Generator
) -> None:
    """Set ``out[i]`` to a random value of ``pool`` for each ``i`` in ``positions``."""
    picks = rng.integers(0, len(pool), len(positions)).tolist()
    for i, j in zip(positions.tolist(), picks, strict=True):
        out[i] = str(pool[j])


def _date_time_column(
    p: _Pools, rng: np.random.Generator, day: IntArray, n: int
) -> tuple[list[str], IntArray]:
    """Return the ``Date / Time`` strings and the style of each row."""
    hour = _draw(rng, p.hour_cdf, n)
    minute = _draw(rng, p.minute_cdf, n)
    mod = hour * 60 + minute
    style = _draw(rng, p.dt_style_cdf, n)
    tidx = np.where(p.dt_style_date_only[style], 1440, mod)
    dates = p.date_pool[p.dt_style_date_fmt[style], day].tolist()
    times = p.time_pool[p.dt_style_time_fmt[style], tidx].tolist()
    out: list[str] = list(map(operator.add, dates, times))

    for i in np.flatnonzero(style == _ST_TIME_ONLY).tolist():
        out[i] = str(p.time_pool[0, mod[i]]).strip()
    for i in np.flatnonzero(style == _ST_BLANK).tolist():
        out[i] = ""
    pos = np.flatnonzero(style == _ST_FREE)
    _fill_from(out, pos, p.free_text, rng)
    pos = np.flatnonzero(style == _ST_IMPOSSIBLE)
    _fill_from(out, pos, p.impossible, rng)

    odd = np.flatnonzero(rng.integers(0, _PPM, n) < _DT_ODD_SPACING_PPM)
    kinds = rng.integers(0, 5, len(odd)).tolist()
    for i, kind in zip(odd.tolist(), kinds, strict=True):
        s = out[i]
        if not s:
            continue
        if kind == 0:
            out[i] = " " + s
        elif kind == 1:
            out[i] = s + " "
        elif kind == 2:
            out[i] = "  " + s + " "
        elif kind == 3:
            out[i] = s.replace(" ", "  ", 1) if " " in s else s + "  "
        else:
            out[i] = s + "   "
    return out, style


def _posted_column(
    p: _Pools,
    rng: np.random.Generator,
    day: IntArray,
    jan1: npt.NDArray[np.bool_],
    dt_style: IntArray,
    n: int,
) -> list[str]:
    """Return the ``Posted`` strings for sighting days ``day``.

    ``jan1`` marks sightings on January 1st, which are never posted the day
    before (that would change the year used to resolve two-digit years).
    """
    kind = rng.random(n)
    lag = np.where(
        kind < 0.75,
        rng.exponential(20.0, n),
        np.where(kind < 0.90, rng.exponential(365.0, n), rng.random(n) * 7300.0),
    ).astype(np.int64)
    posted = day + lag
    early = posted < p.first_posted
    posted = np.where(
        early,
        p.first_posted + (rng.random(n) * (p.last_day - p.first_posted + 1)).astype(np.int64),
        posted,
    )
    late = posted > p.last_day
    low = np.maximum(day, p.first_posted)
    posted = np.where(late, low + (rng.random(n) * (p.last_day - low + 1)).astype(np.int64), posted)
    posted = np.minimum(np.maximum(posted, day), p.last_day)

    before = (rng.integers(0, _PPM, n) < _POSTED_BEFORE_PPM) & (day > p.first_posted) & ~jan1
    posted = np.where(before, day - 1, posted)

    style = _draw(rng, p.posted_style_cdf, n)
    long_dt = (dt_style == _ST_LONG) | (dt_style == _ST_LONG_DATE)
    style = np.where(long_dt & (style == 0) & (rng.random(n) < 0.5), 1, style)
    fmt = np.minimum(style, 2)
    out: list[str] = p.date_pool[fmt, posted].tolist()
    for i in np.flatnonzero(style == 3).tolist():
        out[i] = ""
    pos = np.flatnonzero(style == 4)
    _fill_from(out, pos, p.posted_junk, rng)
    return out


def _summary_column(p: _Pools, rng: np.random.Generator, n: int) -> list[str]:
    """Return the ``Summary`` strings (at most 135 characters each)."""
    heads = p.summary_head[rng.integers(0, len(p.summary_head), n)].tolist()
    tails = p.summary_tail[rng.integers(0, len(p.summary_tail), n)].tolist()
    out = [s[:_SUMMARY_MAX] for s in map(operator.add, heads, tails)]
    u = rng.integers(0, _PPM, n)
    for i in np.flatnonzero(u < _SUMMARY_BLANK_PPM).tolist():
        out[i] = ""
    padded = (u >= _SUMMARY_BLANK_PPM) & (u < _SUMMARY_BLANK_PPM + _SUMMARY_PADDED_PPM)
    for i in np.flatnonzero(padded).tolist():
        out[i] = f" {out[i][: _SUMMARY_MAX - 2]} "
    return out


def _make_malformed(rng: np.random.Generator, fields: list[str]) -> str:
    """Turn a clean record's fields into a 6- or 8-field line."""
    x = float(rng.random())
    f = list(fields)
    if x < 0.5:
        s = f[5]
        cut = int(rng.integers(0, len(s) + 1))
        f[5] = s[:cut] + "\t" + s[cut:]
    elif x < 0.65:
        f.append("")
    elif x < 0.85:
        del f[6]
    else:
        del f[3]
    return "\t".join(f)


def _chunk_lines(p: _Pools, rng: np.random.Generator, n: int, counts: dict[str, int]) -> list[str]:
    """Generate the ``n`` lines of one chunk (without terminators).

    Parameters
    ----------
    p : _Pools
        Pools built by :func:`_build_pools`.
    rng : numpy.random.Generator
        The chunk's generator.
    n : int
        Number of lines.
    counts : dict[str, int]
        Structural dirt counts from :func:`_chunk_counts`.

    Returns
    -------
    list[str]
        The lines.
    """
    yi = _draw(rng, p.year_cdf, n)
    day = p.year_start[yi] + (rng.random(n) * p.year_len[yi]).astype(np.int64)
    day = np.minimum(day, p.last_day)

    date_time, dt_style = _date_time_column(p, rng, day, n)
    posted = _posted_column(p, rng, day, day == p.year_start[yi], dt_style, n)
    cat = _draw(rng, p.loc_cat_cdf, n)
    city = _draw(rng, p.loc_city_cdf, n)
    variant = _draw(rng, p.loc_variant_cdf, n)
    location = p.loc_pool[variant, cat, city].tolist()
    shape = p.shape_pool[_draw(rng, p.shape_cdf, n)].tolist()
    duration = p.duration_pool[rng.integers(0, len(p.duration_pool), n)].tolist()
    summary = _summary_column(p, rng, n)

    lines: list[str] = list(
        map(
            "\t".join,
            zip(date_time, location, shape, duration, summary, posted, strict=True),
        )
    )

    total = sum(counts.values())
    if total == 0:
        return lines
    pos = (1 + rng.choice(n - 1, size=total, replace=False)).astype(np.int64)
    h, d, m = counts["header_row"], counts["duplicate"], counts["malformed"]
    header_pos = pos[:h]
    dup_pos = pos[h : h + d]
    bad_pos = pos[h + d : h + d + m]
    empty_pos = pos[h + d + m :]

    clean = np.ones(n, dtype=np.bool_)
    clean[pos] = False
    clean_pos = np.flatnonzero(clean)

    for i in bad_pos.tolist():
        fields = lines[i].split("\t")
        lines[i] = _make_malformed(rng, fields)
    for i in dup_pos.tolist():
        k = int(np.searchsorted(clean_pos, i))  # clean lines before i (>= 1)
        if rng.random() < 0.5:
            j = max(k - 1 - int(rng.integers(0, 4)), 0)
        else:
            j = int(rng.integers(0, k))
        lines[i] = lines[int(clean_pos[j])]
    n_var = len(p.header_variants)
    for i in header_pos.tolist():
        v = 0 if rng.random() < 0.7 else int(rng.integers(1, n_var))
        lines[i] = str(p.header_variants[v])
    for i in empty_pos.tolist():
        lines[i] = ""
    return lines


def generate(rows: int, out: str | os.PathLike[str], seed: int = 0) -> None:
    """Write a dirty raw NUFORC-style TSV file.

    Parameters
    ----------
    rows : int
        Number of lines after the header (clean records plus the structural
        dirt counted by :func:`plan_counts`, empty lines included).
    out : str or os.PathLike
        Output path; overwritten.
    seed : int, optional
        Non-negative seed; the same ``(rows, seed)`` gives a byte-identical
        file. Default 0.

    Raises
    ------
    ValueError
        If ``rows`` or ``seed`` is negative.
    """
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    pools = _build_pools(seed)
    with open(out, "wb") as fh:
        fh.write(HEADER_LINE.encode("utf-8") + b"\n")
        for chunk, start in enumerate(range(0, rows, CHUNK_ROWS)):
            n = min(CHUNK_ROWS, rows - start)
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1, chunk)))
            lines = _chunk_lines(pools, rng, n, _chunk_counts(start, n))
            lines.append("")
            fh.write("\n".join(lines).encode("utf-8"))
            logger.debug("chunk %d: %d lines", chunk, n)


def main(argv: list[str] | None = None) -> int:
    """Run the command line interface.

    Parameters
    ----------
    argv : list[str] or None, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Process exit code (0 on success).
    """
    parser = argparse.ArgumentParser(
        prog="python -m etl.generate",
        description="Write a deterministic, realistically dirty raw NUFORC TSV file.",
    )
    parser.add_argument("--rows", type=int, required=True, help="lines after the header")
    parser.add_argument("--out", required=True, help="output file")
    parser.add_argument("--seed", type=int, default=0, help="non-negative seed (default 0)")
    args = parser.parse_args(argv)
    if args.rows < 0:
        parser.error("--rows must be >= 0")
    if args.seed < 0:
        parser.error("--seed must be >= 0")
    t0 = time.perf_counter()
    generate(args.rows, args.out, args.seed)
    elapsed = time.perf_counter() - t0
    size = os.path.getsize(args.out)
    plan = plan_counts(args.rows)
    print(
        f"wrote {args.rows} lines to {args.out} ({size} bytes, seed {args.seed}, "
        f"{plan['header_row']} headers, {plan['duplicate']} duplicates, "
        f"{plan['malformed']} malformed, {plan['empty']} empty) in {elapsed:.1f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
