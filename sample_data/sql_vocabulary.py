"""The words the sample text-to-SQL tables are made of: entities, columns and their values.

Every list here is ordered (never a set): the generator must give the same file on every
machine and every Python hash seed.
"""

from __future__ import annotations

# (singular, plural) -> the table is named after the plural, with underscores.
ENTITIES = [
    ("employee", "employees"),
    ("album", "albums"),
    ("station", "stations"),
    ("ship", "ships"),
    ("book", "books"),
    ("student", "students"),
    ("airport", "airports"),
    ("hotel", "hotels"),
    ("team", "teams"),
    ("player", "players"),
    ("movie", "movies"),
    ("store", "stores"),
    ("customer", "customers"),
    ("product", "products"),
    ("school", "schools"),
    ("museum", "museums"),
    ("river", "rivers"),
    ("mountain", "mountains"),
    ("company", "companies"),
    ("restaurant", "restaurants"),
    ("course", "courses"),
    ("flight", "flights"),
    ("building", "buildings"),
    ("festival", "festivals"),
    ("painting", "paintings"),
    ("song", "songs"),
    ("hospital", "hospitals"),
    ("park", "parks"),
    ("bridge", "bridges"),
    ("library", "libraries"),
    ("vehicle", "vehicles"),
    ("farm", "farms"),
]

# Names every table's `name` column may hold.
NAMES = [
    "Aurora", "Bellview", "Cascade", "Dunmore", "Elmwood", "Fairhaven", "Granite", "Harbor",
    "Ironwood", "Juniper", "Kestrel", "Larkspur", "Meridian", "Northgate", "Oakridge",
    "Pinecrest", "Quarry", "Redwood", "Silverton", "Thornbury", "Upland", "Valemont",
    "Westfield", "Yarrow", "Zenith", "Ashford", "Brookside", "Clearwater",
]  # fmt: skip

# Text columns and the values they take; a column name with "_" reads with spaces.
TEXT_COLUMNS = {
    "city": ["Paris", "Lagos", "Osaka", "Lima", "Oslo", "Cairo", "Denver", "Perth", "Quito"],
    "country": ["France", "Kenya", "Japan", "Peru", "Norway", "Egypt", "Canada", "Chile"],
    "status": ["active", "closed", "pending", "retired"],
    "category": ["gold", "silver", "bronze", "standard"],
    "colour": ["red", "blue", "green", "black", "white", "yellow"],
    "region": ["north", "south", "east", "west", "central"],
    "owner": ["Smith", "Garcia", "Chen", "Okafor", "Novak", "Haddad", "Larsen"],
    "genre": ["jazz", "drama", "comedy", "history", "science", "poetry"],
    "language": ["English", "Spanish", "Swahili", "Hindi", "French", "Arabic"],
    "size": ["small", "medium", "large"],
    "home_town": ["Leeds", "Porto", "Accra", "Kyoto", "Tartu", "Cusco", "Fresno"],
    "manager": ["Ada", "Bruno", "Chidi", "Dana", "Emil", "Farah", "Goran"],
}

# Integer columns and the range their values are drawn from (inclusive).
NUMBER_COLUMNS = {
    "age": (18, 90),
    "year": (1950, 2023),
    "price": (5, 500),
    "rating": (1, 10),
    "capacity": (10, 5000),
    "length": (1, 900),
    "height": (2, 400),
    "population": (100, 90000),
    "score": (0, 100),
    "salary": (1000, 9000),
    "budget": (100, 20000),
    "floors": (1, 60),
    "staff": (1, 800),
    "duration": (1, 240),
    "rank": (1, 50),
    "year_opened": (1900, 2023),
}
