# The whole standard library is there: modules the engine did not pre-import (zoneinfo, fractions, statistics)
# load on first use, in the requests that use them.
import datetime
import json
import statistics
import zoneinfo
from fractions import Fraction


def worker(request):
    when = datetime.datetime(2024, 7, 1, 12, tzinfo=datetime.UTC)
    return Response(
        json.dumps({
            "tokyo": when.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo")).isoformat(),
            "median": statistics.median([3, 1, 4, 1, 5]),
            "fraction": str(Fraction(1, 3) + Fraction(1, 6)),
        }),
        headers={"content-type": "application/json"},
    )
