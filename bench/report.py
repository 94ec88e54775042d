#!/usr/bin/env python3
"""bench/report.py - turn bench/run's measurements into a table, a markdown file and a chart.

Usage: report.py INFO.tsv RESULTS.md RESULTS.png

INFO.tsv holds KEY<TAB>VALUE lines written by bench/run; values ending in .json name
hyperfine exports. Prints the report (the same markdown as RESULTS.md) and the targets,
then draws RESULTS.png with gnuplot. Standard library only.
"""

import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile

FLOOR = 5  # the case every ratio is relative to: unshare(1) + chroot, the kernel's work
CASES = range(1, 8)
NET, NET_BASE = 2, 7  # tinyjail + network, and tinyjail alone under the same prefix


def load_info(path):
    info = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            info[key] = value
    return info


def stats(pattern):
    """Median, min and max wall time in milliseconds over the hyperfine JSON exports that
    PATTERN matches (one per round), and the number of runs."""
    times = []
    for path in sorted(glob.glob(pattern)):
        with open(path) as f:
            times += json.load(f)["results"][0]["times"]
    if not times:
        raise SystemExit(f"report.py: no measurements in {pattern}")
    return {"median": statistics.median(times) * 1000, "min": min(times) * 1000,
            "max": max(times) * 1000, "runs": len(times)}


def ms(x):
    return f"{x:.2f}" if x < 100 else f"{x:.0f}"


def kb(n):
    return f"{n / 1024:.1f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.2f} MB"


def table(header, rows, align=None):
    """A markdown table, padded so that it reads in a terminal too."""
    align = align or ["l"] + ["r"] * (len(header) - 1)
    cells = [header] + [[str(c) for c in row] for row in rows]
    width = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(row):
        return "| " + " | ".join(c.ljust(w) if a == "l" else c.rjust(w)
                                 for c, w, a in zip(row, width, align)) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if a == "r" else ("-" * (w + 2))
                          for w, a in zip(width, align)) + "|"
    return "\n".join([line(cells[0]), rule] + [line(r) for r in cells[1:]])


def main():
    info_path, md_path, png_path = sys.argv[1:4]
    info = load_info(info_path)
    out = []

    # The seven cases.
    case = {}
    for n in CASES:
        c = {"name": info[f"case.{n}.name"], "cmd": info[f"case.{n}.cmd"]}
        if f"time.case{n}" in info:
            c.update(stats(info[f"time.case{n}"]))
            c["rss"] = int(info[f"case.{n}.rss"])
            c["hwm"] = int(info[f"case.{n}.hwm"])
            c["tree"] = int(info[f"case.{n}.tree"])
        else:
            c["na"] = info[f"case.{n}.na"]
        case[n] = c
    floor = case[FLOOR]["median"]
    floor_kb = f"{info['rss.floor.min']} to {info['rss.floor.max']}"
    tree_floor_kb = f"{info['tree.floor.min']} to {info['tree.floor.max']}"

    out.append(f"# tinyjail start-up benchmark ({info['mode']} mode)\n")
    out.append(f"{info['date']}; {info['host']}; load average {info['load.start']} at the "
               f"start, {info['load.end']} at the end; tinyjail at {info['commit']}.  ")
    out.append(f"{info['versions']}.\n")
    runs = max(c.get("runs", 0) for c in case.values())
    out.append("Wall time of one container running `/bin/true` in the same busybox root "
               f"(hyperfine, no shell; {runs} runs per case in {info['rounds']} round(s) that "
               f"take the cases in turn). Ratio = median / median of case {FLOOR}, the "
               "kernel's own work; only ratios compare across machines and runs.\n")
    rows = []
    for n in CASES:
        c = case[n]
        if "na" in c:
            rows.append([n, c["name"], "n/a", "", "", "", "", "", ""])
            continue
        rows.append([n, c["name"], ms(c["median"]), ms(c["min"]), ms(c["max"]),
                     f"{c['median'] / floor:.2f}x", c["rss"], c["tree"], c["hwm"]])
    out.append(table(["#", "case", "median ms", "min ms", "max ms", "ratio",
                      "peak RSS KB", "tree RSS KB", "own RSS KB"], rows,
                     ["r", "l"] + ["r"] * 7))
    out.append("")
    for n in CASES:
        if "na" in case[n]:
            out.append(f"Case {n} is n/a: {case[n]['na']}  ")
    out.append("")
    out.append("Peak RSS: the largest \"Maximum resident set size\" of `/usr/bin/time -v` over "
               f"a few runs, the container running a static exit(0) of {info['exit0.bytes']} bytes "
               "instead of busybox. For that program alone `/usr/bin/time -v` reports "
               f"{floor_kb} KB (its own forked child counts until the exec), so below that "
               "this column says nothing. Tree RSS: the same field (ru_maxrss of wait4, the "
               "largest peak of the launcher and of every process below it) from "
               "`bench/peak-rss.c`, a statically linked launcher whose own pages before the "
               f"exec are the floor here: {tree_floor_kb} KB for exit(0) alone. Own RSS: VmHWM "
               "of the launcher process itself, read while the container sleeps.\n")
    out.append("Commands (R is the busybox root, BUNDLE the OCI bundle, ID crun's container ID):\n")
    for n in CASES:
        out.append(f"{n}. `{case[n]['cmd']}`")
    out.append("")
    out.append(f"Cases {NET} and {NET_BASE} run in a throwaway network namespace NS that holds "
               "the bridge: hyperfine itself is started there by `nsenter --net=/run/netns/NS`, "
               "once, so nsenter is not timed, and both run under exactly the same prefix. Case "
               f"{NET_BASE} is case 1 run that way; the network target compares case {NET} "
               f"with it.\n")
    if info.get("crun.private_mountns") == "1":
        out.append(f"crun runs with `{info['crun.cgroup_manager']}`. This host's cgroups are "
                   f"hybrid (v1 controllers, v2 at /sys/fs/cgroup/unified), which crun refuses "
                   f"even so (\"{info['crun.hybrid_error']}\"); crun and its measurements run "
                   "in a private mount namespace where an empty tmpfs covers "
                   "/sys/fs/cgroup/unified, so it sees cgroup v1 only. The host's mounts are "
                   "unchanged.\n")
    else:
        out.append(f"crun runs with `{info['crun.cgroup_manager']}`; host cgroups: "
                   f"{info['cgroup.layout']}.\n")

    # Binary sizes.
    rows = []
    for t in ("tinyjail", "bwrap", "crun", "unshare"):
        size, libs = int(info[f"size.{t}.bytes"]), int(info[f"size.{t}.libs"])
        rows.append([t, info[f"size.{t}.path"], f"{size:,}", kb(size),
                     "static" if libs == 0 else kb(size + libs)])
    out.append("## Executables\n")
    out.append(table(["program", "file", "bytes", "size", "with shared libraries"], rows,
                     ["l", "l", "r", "r", "r"]))
    out.append("")

    # Sequential throughput.
    n_seq = int(info["seq.n"])
    seq = {n: stats(info[f"time.seq{n}"]) for n in (1, 4, 0)}
    out.append(f"## Throughput: {n_seq} containers back to back\n")
    rows = [[case[n]["name"] if n else "exit(0), no container", ms(seq[n]["median"]),
             f"{n_seq / seq[n]['median'] * 1000:.0f}",
             f"{seq[n]['median'] / seq[4]['median']:.2f}x"] for n in (1, 4, 0)]
    out.append(table(["launcher", "total ms (median)", "per second", "vs bwrap"], rows))
    out.append("")
    out.append("A shell loop (bench/repeat seq); the exit(0) row is what the loop alone costs. "
               "A total is a sum, so slow outliers count in it as they do not in a median.\n")

    # Scaling.
    out.append("## Scaling (tinyjail)\n")
    bursts = sorted(int(k[len("time.burst"):]) for k in info if k.startswith("time.burst"))
    net = {}
    rows = []
    for k in bursts:
        total = stats(info[f"time.burst{k}"])["median"]
        spawn = stats(info[f"time.spawn{k}"])["median"]
        net[k] = max(total - spawn, 0.0)
        rows.append([f"{k} at once", ms(total), ms(spawn), ms(net[k]), ms(net[k] / k),
                     f"{net[k] / net[1]:.2f}x" if net[1] else "-"])
    out.append(table(["containers", "total ms", "spawning ms", "net ms", "net ms each",
                      "net vs 1"], rows))
    out.append("")
    out.append("Medians. Started at once by bench/repeat par; \"spawning\" is the same burst of "
               "a plain exit(0), taken off to give \"net\", the containers' own wall time. "
               "With 2 CPUs a burst of N takes at best N/2 times one container; near N times "
               "means the starts did not overlap (a busy machine leaves no CPU spare).\n")
    rows = []
    for kind, steps in (("env", (0, 100, 1000)), ("cgroup", (0, 10, 50))):
        if f"{kind}.na" in info:
            rows += [[f"{s} --{kind}", "n/a (as case 3)", ""] for s in steps]
            continue
        s0 = stats(info[f"time.{kind}0"])["median"]
        for s in steps:
            m = stats(info[f"time.{kind}{s}"])["median"]
            rows.append([f"{s} --{kind}", ms(m), f"{m / s0:.2f}x"])
    out.append(table(["options", "median ms", "vs none"], rows))
    if info.get("cgroup.file", "pids.max") != "pids.max":
        out.append(f"\nThe --cgroup options write `{info['cgroup.file']}`: cgroup v2 on this "
                   "host has no pids controller (see case 3).")
    out.append("")

    # Targets: figures are reported, never enforced.
    def target(name, ok, figure):
        if ok is None:
            return [name, figure, "n/a"]
        return [name, figure, "met" if ok else f"missed ({figure})"]

    t1, t4, t2, t7 = case[1], case[4], case[NET], case[NET_BASE]
    size = int(info["size.tinyjail.bytes"])
    rows = [
        target("case 1 median <= case 4 (bwrap)",
               t1["median"] <= t4["median"],
               f"{ms(t1['median'])} vs {ms(t4['median'])} ms, {t1['median'] / t4['median']:.2f}x"),
        target(f"case 1 within 1.3x of case {FLOOR}",
               t1["median"] <= 1.3 * floor, f"{t1['median'] / floor:.2f}x"),
        target(f"case {NET} < 2x case {NET_BASE} (same prefix)",
               None if "na" in t2 else t2["median"] < 2 * t7["median"],
               t2["na"] if "na" in t2 else
               f"{t2['median'] / t7['median']:.2f}x ({ms(t2['median'])} vs {ms(t7['median'])} ms)"),
        [f"case {NET} vs case 1 (shown, not judged)",
         t2["na"] if "na" in t2 else
         f"{t2['median'] / t1['median']:.2f}x ({ms(t2['median'])} vs {ms(t1['median'])} ms)", "-"],
        target("launcher peak RSS < 512 KB", t1["tree"] < 512,
               f"{t1['tree']} KB for the process tree (floor {tree_floor_kb} KB); "
               f"{t1['hwm']} KB own; {t1['rss']} KB by time -v (floor {floor_kb} KB)"),
        target("binary < 64 KB", size < 64 * 1024, f"{size:,} bytes"),
    ]
    out.append("## Targets\n")
    out.append(table(["target", "figure", "result"], rows, ["l", "l", "l"]))
    out.append("\nThe RSS target is judged on the process tree's peak (tinyjail and its "
               "container, measured by peak-rss): the `/usr/bin/time -v` figure cannot drop "
               "below its own floor, which is about the size of the target, and it is shown "
               "beside it.")

    text = "\n".join(out) + "\n"
    with open(md_path, "w") as f:
        f.write(text)
    print(text)
    plot(case, floor, info["mode"], png_path)
    print(f"Written: {md_path}\n         {png_path}")


def plot(case, floor, mode, png_path):
    """A bar per case: its median, annotated with the ratio to the floor."""
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "cases.dat")
        with open(data, "w") as f:
            for n in CASES:
                c = case[n]
                colour = 0x4472C4 if c["name"].startswith("tinyjail") else 0x909090
                if "na" in c:
                    f.write(f"\"{c['name']}\" 0 \"n/a\" {colour}\n")
                else:
                    f.write(f"\"{c['name']}\" {c['median']:.4f} "
                            f"\"{c['median']:.2f} ms\\n{c['median'] / floor:.2f}x\" {colour}\n")
        top = max(c.get("median", 0) for c in case.values()) * 1.3
        script = f"""
set terminal pngcairo size 1050,480 font "sans,10"
set output "{png_path}"
set title "Container start-up, median wall time ({mode} run); ratio to unshare + chroot"
set ylabel "ms"
set yrange [0:{top:.3f}]
set xrange [-0.6:{len(case) - 0.4}]
set style fill solid 0.8 border -1
set grid ytics
set xtics nomirror
set key off
plot "{data}" using 0:2:(0.6):4:xtic(1) with boxes lc rgb variable, \\
     "" using 0:2:3 with labels offset 0,1.6
"""
        subprocess.run(["gnuplot"], input=script, text=True, check=True)


if __name__ == "__main__":
    main()
