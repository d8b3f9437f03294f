"""What every Python benchmark in bench/ does with its figures: write them
as JSON (under bench-results/ by default) and say where."""
import json
import os


def write_json(path, results):
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    print(f"wrote {path}")
