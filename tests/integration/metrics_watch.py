"""metrics_watch.py FILE OUT: read a --metrics file over and over, as
node exporter's textfile collector would, until it says the migration
ended (or 60 s); each read must parse whole (prometheus_client's own
parser) and end with the last-update gauge, so a torn rewrite fails.
Writes to OUT the statuses seen and how many reads there were."""
import sys
import time

from prometheus_client.parser import text_string_to_metric_families

path, out = sys.argv[1:3]
seen, reads, end = set(), 0, time.monotonic() + 60
done = False
while not done and time.monotonic() < end:
    try:
        text = open(path).read()
    except FileNotFoundError:
        time.sleep(0.005)
        continue
    reads += 1
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    assert "vfio_migrate_last_update_timestamp_seconds" in fams, "a torn file:\n" + text
    for s in fams["vfio_migrate_status"].samples:
        if s.value == 1:
            seen.add(s.labels["status"])
            done = s.labels["status"] in ("completed", "failed", "cancelled")
    time.sleep(0.002)
with open(out, "w") as f:
    f.write("reads %d\nstatuses %s\n" % (reads, " ".join(sorted(seen))))
sys.exit(0 if done else 1)
