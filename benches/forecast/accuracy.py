#!/usr/bin/env python3
"""Rolling-origin accuracy of tidegate-gpu's Holt-Winters against statsforecast.

For each series and horizon this runs `tidegate forecast` (the rolling-origin backtest of
the CLI), which writes `origin,step,actual,forecast`, then fits statsforecast's models on
exactly the same windows (the `--history` rows before each origin) and forecasts the same
steps. Every
method is scored here with one MASE definition, the one the Rust backtest uses: per origin,
the mean absolute error over the horizon divided by the in-sample mean absolute error of
the seasonal naive forecast with the short period, averaged over the origins.

Run from the workspace root (see benches/FORECAST.md for the exact commands):

    cargo build --release -p tidegate
    python3 -m venv target/forecast-venv
    target/forecast-venv/bin/pip install statsforecast pandas
    target/forecast-venv/bin/python benches/forecast/accuracy.py
"""

import argparse
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd

TRACES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "traces")

# (label, file, column, short, long, origins, spacing, history)
SERIES = [
    ("taylor", "taylor_halfhourly.csv", "value", 48, 336, 48, 41, 2016),
    ("nyc EWR", "nycflights_hourly_departures_by_origin.csv", "EWR", 24, 168, 60, 109, 2016),
    ("nyc JFK", "nycflights_hourly_departures_by_origin.csv", "JFK", 24, 168, 60, 109, 2016),
    ("nyc LGA", "nycflights_hourly_departures_by_origin.csv", "LGA", 24, 168, 60, 109, 2016),
]


def naive_scale(window, period):
    diffs = np.abs(window[period:] - window[:-period])
    return diffs.mean() if len(diffs) else 0.0


def mase(origins, forecasts, values, history, horizon, period):
    """Mean MASE over origins with a positive scale; forecasts[i] has `horizon` values."""
    scores = []
    for origin, forecast in zip(origins, forecasts):
        window = values[max(0, origin - history):origin]
        scale = naive_scale(window, period)
        if scale > 0:
            actual = values[origin:origin + horizon]
            scores.append(np.abs(actual - forecast).mean() / scale)
    return float(np.mean(scores))


def run_rust(args, trace, column, short, long, origins, spacing, history, horizon):
    out = os.path.join(args.work, f"{column}-h{horizon}.csv")
    cmd = [
        args.tidegate, "forecast", "--trace", trace, "--column", column,
        "--season", f"{short},{long}", "--horizon", str(horizon), "--origins", str(origins),
        "--spacing", str(spacing), "--history", str(history), "--device", args.device,
        "--loss", args.loss,
        "--out", out,
    ]
    if args.half_lives:
        cmd += ["--half-lives", args.half_lives]
    if args.no_seasonal_copy:
        cmd += ["--no-seasonal-copy"]
    started = time.perf_counter()
    printed = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    elapsed = time.perf_counter() - started
    rows = pd.read_csv(out)
    grouped = rows.sort_values(["origin", "step"]).groupby("origin")
    origin_list = list(grouped.groups.keys())
    forecasts = [g["forecast"].to_numpy() for _, g in grouped]
    return origin_list, forecasts, printed.strip(), elapsed


def statsforecast_models(short, long):
    from statsforecast.models import MSTL, AutoETS, HoltWinters, SeasonalNaive

    models = [
        SeasonalNaive(season_length=short, alias="SeasonalNaive"),
        SeasonalNaive(season_length=long, alias="WeeklyNaive"),
        MSTL(season_length=[short, long], trend_forecaster=AutoETS(model="ZZN"), alias="MSTL"),
    ]
    # statsforecast's ETS family handles seasons of at most 24 steps.
    if short <= 24:
        models.append(HoltWinters(season_length=short, error_type="A", alias="HoltWinters"))
        models.append(AutoETS(season_length=short, alias="AutoETS"))
    return models


def run_statsforecast(values, origins, history, horizon, short, long, n_jobs):
    from statsforecast import StatsForecast

    frames = []
    for origin in origins:
        window = values[max(0, origin - history):origin]
        frames.append(pd.DataFrame({
            "unique_id": origin,
            "ds": np.arange(len(window)),
            "y": window,
        }))
    df = pd.concat(frames, ignore_index=True)
    sf = StatsForecast(models=statsforecast_models(short, long), freq=1, n_jobs=n_jobs)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = sf.forecast(df=df, h=horizon)
    elapsed = time.perf_counter() - started
    fc = fc.sort_values(["unique_id", "ds"])
    out = {}
    for name in [c for c in fc.columns if c not in ("unique_id", "ds")]:
        out[name] = [g[name].to_numpy() for _, g in fc.groupby("unique_id")]
    return out, elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    parser.add_argument("--tidegate", default=os.path.join(target, "release", "tidegate"),
                        help="the tidegate binary (cargo build --release -p tidegate)")
    parser.add_argument("--work", default="target/forecast", help="where the Rust CSVs go")
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "gpu"])
    parser.add_argument("--loss", default="absolute", choices=["absolute", "squared"],
                        help="what tidegate's fit minimizes (tidegate forecast --loss)")
    parser.add_argument("--half-lives", default=None,
                        help="tidegate forecast --half-lives (default: its own)")
    parser.add_argument("--no-seasonal-copy", action="store_true",
                        help="tidegate forecast --no-seasonal-copy: the models' average alone")
    parser.add_argument("--horizons", default="1,12")
    parser.add_argument("--series", default=",".join(s[0] for s in SERIES),
                        help="comma-separated labels to run")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    wanted = set(args.series.split(","))

    columns = ["tidegate HW", "SeasonalNaive", "WeeklyNaive", "HoltWinters", "AutoETS", "MSTL"]
    print("| series | h | origins x history | " + " | ".join(columns) + " |")
    print("|---|---|---|" + "---|" * len(columns))
    horizons = sorted(int(h) for h in args.horizons.split(","))
    longest = horizons[-1]
    for label, file, column, short, long, k, spacing, history in SERIES:
        if label not in wanted:
            continue
        frame = pd.read_csv(os.path.join(TRACES, file))
        values = frame[column].to_numpy(dtype=float)
        # The backtest's origins end `horizon` rows before the end of the trace; cutting
        # the last (longest - horizon) rows gives every horizon the same origins, so
        # statsforecast fits each window once.
        runs = {}
        for horizon in horizons:
            trace = os.path.join(args.work, f"{column}-cut{longest - horizon}.csv")
            frame.iloc[:len(frame) - (longest - horizon)].to_csv(trace, index=False)
            runs[horizon] = run_rust(args, trace, column, short, long, k, spacing, history, horizon)
        origins = runs[longest][0]
        assert all(r[0] == origins for r in runs.values()), "origins differ between horizons"
        others, sf_s = run_statsforecast(values, origins, history, longest, short, long, args.jobs)
        for horizon in horizons:
            _, rust, printed, rust_s = runs[horizon]
            scores = {"tidegate HW": mase(origins, rust, values, history, horizon, short)}
            for name, forecasts in others.items():
                cut = [f[:horizon] for f in forecasts]
                scores[name] = mase(origins, cut, values, history, horizon, short)
            cells = [f"{scores[c]:.3f}" if c in scores else "n/a" for c in columns]
            print(f"| {label} | {horizon} | {len(origins)} x {history} | " + " | ".join(cells) + " |")
            print(f"  rust: {printed.splitlines()[-1]} ({rust_s:.1f} s); statsforecast {sf_s:.1f} s",
                  file=sys.stderr)


if __name__ == "__main__":
    main()
