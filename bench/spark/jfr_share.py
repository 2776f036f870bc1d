#!/usr/bin/env python3
"""Share of the driver's CPU samples spent in lakegate's own code, from a JFR recording made by
`bench/spark/planning.py --jfr FILE`:  python3 bench/spark/jfr_share.py FILE

Counts jdk.ExecutionSample events of the thread that ran the queries (the busiest py4j thread)
and those whose stack holds an io.lakegate frame, and lists the outermost lakegate frames."""

import collections
import json
import os
import subprocess
import sys


def main(path: str) -> None:
    jfr = os.path.join(os.environ.get("JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64"), "bin", "jfr")
    out = subprocess.run([jfr, "print", "--json", "--events", "jdk.ExecutionSample", path],
                         check=True, capture_output=True, text=True).stdout
    events = json.loads(out)["recording"]["events"]
    by_thread = collections.defaultdict(list)
    for e in events:
        v = e["values"]
        frames = [f["method"]["type"]["name"] + "." + f["method"]["name"] for f in v["stackTrace"]["frames"]]
        by_thread[v["sampledThread"]["javaName"]].append((frames, v["stackTrace"].get("truncated", False)))
    thread, samples = max(by_thread.items(), key=lambda kv: len(kv[1]))
    ours = collections.Counter()
    truncated = sum(1 for _, t in samples if t)
    for frames, _ in samples:
        idx = [i for i, n in enumerate(frames) if "io.lakegate" in n.replace("/", ".")]
        if idx:
            ours[frames[idx[-1]].split("$$Lambda")[0]] += 1
    n = sum(ours.values())
    print(f"thread {thread}: {len(samples)} samples, {n} with lakegate frames ({n / len(samples):.1%}); "
          f"{truncated} truncated stacks")
    for name, c in ours.most_common(8):
        print(f"  {c:5d}  {name}")


if __name__ == "__main__":
    main(sys.argv[1])
