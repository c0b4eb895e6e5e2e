#!/usr/bin/python3
"""Coarse labels for ../shared/datasets/imagenet_sample (one photo per ImageNet class), so that
K-Means NMI and 10-NN accuracy mean something there: each class goes to the first of a dozen broad
WordNet groups (dog, bird, other mammal, ...) that is among its hypernyms.

usage: bench/imagenet_coarse_labels.py DATASET_DIR > labels_coarse.csv
Reads WordNet 3.0 from Debian's wordnet-base (/usr/share/wordnet/data.noun, $WNSEARCHDIR).
Writes path,label (label = the group) to stdout and the group sizes to stderr.
"""
import csv
import os
import sys

# Checked in this order: a class belongs to the first group among its ancestors.
GROUPS = [
    ("dog", 2084071),
    ("bird", 1503061),
    ("mammal", 1861778),
    ("reptile_amphibian_fish", [1661091, 1627424, 2512053]),
    ("invertebrate", 1905661),
    ("food", [21265, 7555863, 13134947, 7707451]),
    ("conveyance", 3100490),
    ("structure", 4341686),
    ("covering", 3122748),
    ("container", 3094503),
    ("device", 3183080),
    ("other_artifact", 21939),
]


def main():
    dataset = sys.argv[1]
    wordnet = os.environ.get("WNSEARCHDIR", "/usr/share/wordnet")
    data = open(os.path.join(wordnet, "data.noun"), "rb")
    parents = {}

    def hypernyms(offset):
        if offset not in parents:
            data.seek(offset)
            fields = data.readline().decode().split()
            words = int(fields[3], 16)
            at = 4 + 2 * words
            pointers = int(fields[at])
            out = []
            for p in range(pointers):
                symbol, target, pos = fields[at + 1 + 4 * p: at + 4 + 4 * p]
                if symbol in ("@", "@i") and pos == "n":
                    out.append(int(target))
            parents[offset] = out
        return parents[offset]

    def ancestors(offset):
        seen, todo = set(), [offset]
        while todo:
            o = todo.pop()
            if o not in seen:
                seen.add(o)
                todo.extend(hypernyms(o))
        return seen

    counts = {}
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["path", "label"])
    with open(os.path.join(dataset, "labels.csv")) as f:
        for row in csv.DictReader(f):
            above = ancestors(int(row["label"][1:]))
            group = "natural_other"
            for name, ids in GROUPS:
                if any(i in above for i in (ids if isinstance(ids, list) else [ids])):
                    group = name
                    break
            counts[group] = counts.get(group, 0) + 1
            out.writerow([row["path"], group])
    for name, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        print(f"{name}: {n}", file=sys.stderr)


main()
