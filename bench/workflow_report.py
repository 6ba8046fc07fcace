"""bench.workflow's figures: the console tables and its section of docs/PERFORMANCE.md."""

from __future__ import annotations

import statistics
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from bench.foundation import machine
from bench.report import write_section
from bench.workflow import (
    BATCHES,
    MB,
    PHOTO_HEIGHT,
    PHOTO_QUALITY,
    PHOTO_WIDTH,
    SECTION,
    TEMPLATE,
    ZONES,
    Profile,
    Results,
    UploadScenario,
    p,
)
from rpma.config import Settings as RpmaSettings

FSYNC = "fsync (photo and thumbnail)"
WRITE = "file write + rename (photo and thumbnail)"


# Figures ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Part:
    title: str
    calls: str
    p50: float
    p99: float
    share: float  # of the mean workflow


@dataclass(frozen=True)
class WorkflowFigures:
    parts: list[Part]
    runs: int
    calls: int
    photos: int
    photo_mb: float
    p50: float
    p99: float
    health_p50: float
    health_p99: float
    health_calls: int
    disk_p50: float
    floor: float
    ratio: float
    server_cpu_p50: float | None

    @property
    def rtt_floor(self) -> float:
        return self.calls * self.health_p50


def workflow_figures(results: Results) -> WorkflowFigures:
    runs = results.workflows
    mean_total = statistics.fmean(r.total_s for r in runs)

    def part(title: str, calls: str, values: list[float]) -> Part:
        return Part(
            title, calls, p(values, 0.5), p(values, 0.99), statistics.fmean(values) / mean_total
        )

    first = runs[0]
    steps = len(results.steps_photos)
    parts = [
        part("intervention_start", "1", [r.start_s for r in runs]),
        part(
            f"photo_upload ({first.photos} photos, {first.photo_bytes / MB:.1f} MB)",
            str(sum(1 for n in results.steps_photos if n)),
            [r.uploads_s for r in runs],
        ),
        part("intervention_advance_step", str(steps), [r.advances_s for r in runs]),
        part("intervention_finalize", "1", [r.finalize_s for r in runs]),
    ]
    totals = [r.total_s for r in runs]
    health_p50 = p(results.health_s, 0.5)
    disk_p50 = p([r.disk_s for r in runs], 0.5)
    floor = first.calls * health_p50 + disk_p50
    cpus = [r.server_cpu_s for r in runs if r.server_cpu_s is not None]
    return WorkflowFigures(
        parts=parts,
        runs=len(runs),
        calls=first.calls,
        photos=first.photos,
        photo_mb=first.photo_bytes / MB,
        p50=p(totals, 0.5),
        p99=p(totals, 0.99),
        health_p50=health_p50,
        health_p99=p(results.health_s, 0.99),
        health_calls=len(results.health_s),
        disk_p50=disk_p50,
        floor=floor,
        ratio=p(totals, 0.5) / floor,
        server_cpu_p50=p(cpus, 0.5) if len(cpus) == len(runs) else None,
    )


@dataclass(frozen=True)
class UploadRow:
    title: str
    encoding: str
    batch: int
    calls: int
    mb_per_call: float
    wire_mb_per_call: float
    p50_s: float
    mb_s: float
    disk_mb_s: float
    ratio: float
    ms_per_photo: float
    server_cpu_ms_per_photo: float | None
    encode_ms: float


def upload_rows(scenarios: list[UploadScenario]) -> list[UploadRow]:
    out = []
    for sc in scenarios:
        total_bytes = sum(s.photo_bytes for s in sc.samples)
        seconds = sum(s.seconds for s in sc.samples)
        disk = sum(sc.disk_s)
        photos = len(sc.samples) * sc.batch
        mb_s = total_bytes / MB / seconds
        disk_mb_s = total_bytes / MB / disk
        out.append(
            UploadRow(
                title=sc.title,
                encoding=sc.encoding,
                batch=sc.batch,
                calls=len(sc.samples),
                mb_per_call=total_bytes / MB / len(sc.samples),
                wire_mb_per_call=statistics.fmean(s.wire_bytes for s in sc.samples) / MB,
                p50_s=p([s.seconds for s in sc.samples], 0.5),
                mb_s=mb_s,
                disk_mb_s=disk_mb_s,
                ratio=disk_mb_s / mb_s,
                ms_per_photo=seconds / photos * 1000,
                server_cpu_ms_per_photo=(
                    sc.server_cpu_s / photos * 1000 if sc.server_cpu_s is not None else None
                ),
                encode_ms=p([s.encode_s for s in sc.samples], 0.5) * 1000,
            )
        )
    return out


def stage_rows(profile: Profile) -> list[tuple[str, float, float]]:
    """(stage, ms per photo, share of the profiled time), the file write without its
    fsync, and what no stage covers as "other"."""
    stages = dict(profile.stages)
    if WRITE in stages and FSYNC in stages:
        stages[WRITE] -= stages[FSYNC]
    per_photo = profile.profiled_s / profile.batch
    rows = [(label, ms * 1000, ms / per_photo) for label, ms in stages.items()]
    covered = sum(stages.values())
    rows.append(
        ("other (checks, SQL, SQLAlchemy, Python)", (per_photo - covered) * 1000,
         (per_photo - covered) / per_photo)
    )  # fmt: skip
    return rows


# Console ----------------------------------------------------------------------------------------
def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def _opt(value: float | None, fmt: str = "{:,.0f}") -> str:
    return "n/a" if value is None else fmt.format(value)


def print_results(console: Console, results: Results) -> None:
    wf = workflow_figures(results)
    table = Table(
        title=f"One {TEMPLATE} intervention over HTTP ({wf.runs} runs)", title_justify="left"
    )
    for name in ("part", "calls", "p50 ms", "p99 ms", "share of mean"):
        table.add_column(name, justify="left" if name == "part" else "right")
    for part in wf.parts:
        table.add_row(part.title, part.calls, _ms(part.p50), _ms(part.p99), f"{part.share:.0%}")
    table.add_row(
        "[b]whole workflow[/]", str(wf.calls), _ms(wf.p50), _ms(wf.p99), "100%", end_section=True
    )
    table.add_row(
        f"floor: {wf.calls} x health_check ({wf.health_p50 * 1000:.2f} ms p50)",
        str(wf.calls),
        f"{wf.rtt_floor * 1000:,.1f}",
        "",
        "",
    )
    table.add_row(f"floor: write the {wf.photos} photos (fsync each)", "", _ms(wf.disk_p50), "", "")
    table.add_row("[b]floor[/]", "", _ms(wf.floor), "", "")
    table.add_row("[b]workflow p50 ÷ floor[/]", "", f"{wf.ratio:.1f}x", "", "")
    console.print(table)
    console.print(
        f"Server CPU per workflow (p50): {_opt(wf.server_cpu_p50, '{:.2f}')} s of "
        f"{wf.p50:.2f} s wall."
    )

    table = Table(title="photo_upload throughput (photo bytes)", title_justify="left")
    for name in (
        "scenario", "calls", "MB/call", "wire MB/call", "p50 s/call", "MB/s", "disk MB/s",
        "floor ÷ upload", "ms/photo", "server CPU ms/photo", "client encode ms",
    ):  # fmt: skip
        table.add_column(name, justify="left" if name == "scenario" else "right")
    for row in upload_rows(results.uploads):
        table.add_row(
            f"{row.encoding}, {row.batch}",
            str(row.calls),
            f"{row.mb_per_call:.1f}",
            f"{row.wire_mb_per_call:.1f}",
            f"{row.p50_s:.3f}",
            f"{row.mb_s:.1f}",
            f"{row.disk_mb_s:.0f}",
            f"{row.ratio:.1f}x",
            f"{row.ms_per_photo:.0f}",
            _opt(row.server_cpu_ms_per_photo),
            f"{row.encode_ms:.0f}",
        )
    console.print(table)

    for profile in results.profiles:
        table = Table(
            title=f"photo_upload in-process, {profile.encoding}, {profile.batch} photos/call: "
            f"{profile.wall_s / profile.batch * 1000:.0f} ms/photo "
            f"({profile.profiled_s / profile.batch * 1000:.0f} under cProfile)",
            title_justify="left",
        )
        for name in ("stage", "ms/photo", "share"):
            table.add_column(name, justify="left" if name == "stage" else "right")
        for label, ms, share in stage_rows(profile):
            table.add_row(label, f"{ms:.1f}", f"{share:.0%}")
        console.print(table)
    console.print(f"Ran in {results.seconds:.0f} s.")


# Markdown ---------------------------------------------------------------------------------------
def _fill(paragraph: str) -> str:
    return textwrap.fill(
        " ".join(paragraph.split()), width=88, break_long_words=False, break_on_hyphens=False
    )


def _workflow_table(wf: WorkflowFigures) -> str:
    lines = [
        "| part | calls | p50 ms | p99 ms | share of the mean |",
        "|---|--:|--:|--:|--:|",
    ]
    for part in wf.parts:
        lines.append(
            f"| {part.title} | {part.calls} | {_ms(part.p50)} | {_ms(part.p99)} "
            f"| {part.share:.0%} |"
        )
    lines += [
        f"| **whole workflow** | {wf.calls} | **{_ms(wf.p50)}** | {_ms(wf.p99)} | 100% |",
        f"| floor: {wf.calls} x `health_check` round trip ({wf.health_p50 * 1000:.2f} ms p50) "
        f"| {wf.calls} | {wf.rtt_floor * 1000:,.1f} | | |",
        f"| floor: writing the same {wf.photos} photos ({wf.photo_mb:.1f} MB), fsync each "
        f"| | {_ms(wf.disk_p50)} | | |",
        f"| **floor** | | **{_ms(wf.floor)}** | | |",
        f"| **workflow ÷ floor** (p50) | | **{wf.ratio:.1f}x** | | |",
    ]
    return "\n".join(lines)


def _upload_table(rows: Sequence[UploadRow]) -> str:
    lines = [
        "| scenario | calls | MB/call | wire MB/call | p50 s/call | MB/s | disk floor MB/s "
        "| floor ÷ upload | ms/photo | server CPU ms/photo | client encode ms/call |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.title} | {row.calls} | {row.mb_per_call:.1f} | {row.wire_mb_per_call:.1f} "
            f"| {row.p50_s:.3f} | {row.mb_s:.1f} | {row.disk_mb_s:.0f} | {row.ratio:.1f}x "
            f"| {row.ms_per_photo:.0f} | {_opt(row.server_cpu_ms_per_photo)} "
            f"| {row.encode_ms:.0f} |"
        )
    return "\n".join(lines)


def _profile_table(profiles: Sequence[Profile]) -> str:
    header = "| stage | " + " | ".join(
        f"{pr.encoding} ms/photo | {pr.encoding} share" for pr in profiles
    )
    lines = [header + " |", "|---|" + "--:|--:|" * len(profiles)]
    by_profile = [{label: (ms, share) for label, ms, share in stage_rows(pr)} for pr in profiles]
    labels = list(dict.fromkeys(label for rows in by_profile for label in rows))
    for label in labels:
        cells = []
        for rows in by_profile:
            if label in rows:
                ms, share = rows[label]
                cells.append(f"{ms:.1f} | {share:.0%}")
            else:
                cells.append("- | -")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    totals = " | ".join(f"**{pr.profiled_s / pr.batch * 1000:.0f}** | 100%" for pr in profiles)
    lines.append(f"| **per photo under cProfile** | {totals} |")
    plain = " | ".join(f"{pr.wall_s / pr.batch * 1000:.0f} | " for pr in profiles)
    lines.append(f"| per photo without the profiler | {plain} |")
    return "\n".join(lines)


def _workflow_reading(results: Results, wf: WorkflowFigures, rows: Sequence[UploadRow]) -> str:
    uploads = next(part for part in wf.parts if part.title.startswith("photo_upload"))
    json_rows = [row for row in rows if row.encoding == "json"]
    encode_ms = (
        statistics.fmean(row.encode_ms / row.batch for row in json_rows) * wf.photos
        if json_rows
        else None
    )
    text = (
        f"**Workflow.** A whole `{TEMPLATE}` intervention ({wf.calls} calls: start, "
        f"{uploads.calls} uploads of {wf.photos} photos in all, {len(results.steps_photos)} "
        f"advances, finalize) takes {wf.p50:.2f} s at the median and {wf.p99:.2f} s at p99"
        + (f" (the slowest of {wf.runs})" if wf.runs < 100 else "")
        + f", {wf.ratio:.1f}x its floor of {wf.floor:.2f} s "
        f"({wf.calls} trivial round trips, {wf.rtt_floor * 1000:.0f} ms, plus "
        f"{wf.disk_p50 * 1000:.0f} ms to write and fsync the same {wf.photo_mb:.1f} MB). "
        f"The photo uploads are {uploads.share:.0%} of it; start, the "
        f"{len(results.steps_photos)} advances and "
        f"finalize together take {(wf.p50 - uploads.p50) * 1000:.0f} ms at the median, so "
        "the step logic is not where a technician waits."
    )
    if wf.server_cpu_p50 is not None:
        text += (
            f" The server process used {wf.server_cpu_p50:.2f} s of CPU per workflow "
            f"({wf.server_cpu_p50 / wf.p50:.0%} of the wall time)"
        )
        gap_ms = (wf.p50 - wf.server_cpu_p50) * 1000
        if encode_ms is not None and gap_ms > 0:
            text += (
                f"; of the other {gap_ms:.0f} ms, "
                + ("most" if encode_ms >= 0.5 * gap_ms else "some")
                + " is the client's own work, the SDK encoding the photos to base64 inside "
                f"JSON (about {encode_ms:.0f} ms for {wf.photos} photos, measured with the "
                "uploads below), on the same cores."
            )
        else:
            text += "."
    return text


def _uploads_reading(rows: Sequence[UploadRow]) -> str:
    by_key = {(row.encoding, row.batch): row for row in rows}
    best = max(rows, key=lambda r: r.mb_s)
    worst = min(rows, key=lambda r: r.mb_s)
    disk = statistics.median(row.disk_mb_s for row in rows)
    text = (
        f"**Uploads.** `photo_upload` moves {worst.mb_s:.1f} to {best.mb_s:.1f} MB/s of "
        f"photo bytes ({best.ms_per_photo:.0f} to {worst.ms_per_photo:.0f} ms a photo), "
        f"where the storage's own write, fsync and rename of the same bytes reach "
        f"{min(r.disk_mb_s for r in rows):.0f} to {max(r.disk_mb_s for r in rows):.0f} MB/s "
        f"(median {disk:.0f}): the upload is {min(r.ratio for r in rows):.0f} to "
        f"{max(r.ratio for r in rows):.0f}x slower than its floor, and the disk is not what "
        "limits it."
    )
    big = max(BATCHES)
    json1, json_big = by_key.get(("json", 1)), by_key.get(("json", big))
    pack1, pack_big = by_key.get(("msgpack", 1)), by_key.get(("msgpack", big))
    if json1 and json_big:
        change = json_big.mb_s / json1.mb_s - 1
        text += (
            f" Batching changes the rate by {change:+.0%} over JSON ({json1.mb_s:.1f} MB/s "
            f"with 1 photo per call, {json_big.mb_s:.1f} with {big})"
        )
        text += ": the cost is per photo, not per call." if abs(change) < 0.25 else "."
    if json1 and json_big and pack1 and pack_big:
        text += (
            f" MessagePack's raw bytes are {pack_big.mb_s / json_big.mb_s - 1:+.0%} against "
            f"JSON's base64 at {big} photos per call ({pack_big.mb_s:.1f} against "
            f"{json_big.mb_s:.1f} MB/s) and {pack1.mb_s / json1.mb_s - 1:+.0%} at one, with "
            f"{1 - pack_big.wire_mb_per_call / json_big.wire_mb_per_call:.0%} fewer bytes on "
            "the wire and no encoding on the client."
        )
    cpu_rows = [r for r in rows if r.server_cpu_ms_per_photo is not None]
    if cpu_rows:
        busy = statistics.fmean(
            (r.server_cpu_ms_per_photo or 0.0) / r.ms_per_photo for r in cpu_rows
        )
        text += (
            f" The server process is busy on the CPU for {busy:.0%} of each call's time: "
            "uploads are bound by the server's computing."
        )
    return text


def _profile_reading(results: Results, rows: Sequence[UploadRow]) -> str:
    profile = next(pr for pr in results.profiles if pr.encoding == "json")
    per_photo = profile.profiled_s / profile.batch * 1000
    plain = profile.wall_s / profile.batch * 1000
    stages = {label: (ms, share) for label, ms, share in stage_rows(profile)}

    def ms(label: str) -> float:
        return stages.get(label, (0.0, 0.0))[0]

    def share(*labels: str) -> float:
        return sum(stages.get(label, (0.0, 0.0))[1] for label in labels)

    decode, thumb = "Pillow decode of every pixel (load)", "thumbnail (resize + JPEG encode)"
    pillow = share("Pillow open + verify", decode, "EXIF read", thumb)
    text = (
        f"**Where a photo's time goes** (cProfile, in-process, JSON, {profile.batch} photos "
        f"per call: {per_photo:.0f} ms a photo under the profiler, {plain:.0f} ms without). "
        f"Pillow takes {pillow:.0%}: decoding every pixel {share(decode):.0%} "
        f"({ms(decode):.0f} ms) and the 320-px thumbnail {share(thumb):.0%} "
        f"({ms(thumb):.0f} ms: a LANCZOS resize of the decoded {PHOTO_WIDTH}x{PHOTO_HEIGHT} "
        "image and a JPEG encode with `optimize=True`). Then the JSON and base64 decoding "
        f"{share('request body decode (JSON / MessagePack)', 'base64 decode'):.0%}, the file "
        f"writes and renames {share(WRITE):.0%}, fsync {share(FSYNC):.0%}, sha256 "
        f"{share('sha256'):.0%}, the database commit {share('database commit (SQLAlchemy)'):.0%}. "
        "The full decode is "
        "deliberate (imaging.py decodes every pixel so that a truncated JPEG is refused at "
        "upload) and is the largest single cost of a photo."
    )
    http = next((r for r in rows if r.encoding == "json" and r.batch == profile.batch), None)
    if http is not None:
        text += (
            f" Over HTTP the same calls take {http.ms_per_photo:.0f} ms a photo against "
            f"{plain:.0f} in-process: transport, token check and worker thread add "
            f"{http.ms_per_photo - plain:.0f} ms a photo."
        )
    return text


def upload_limit() -> tuple[int, str]:
    """The server's default upload rate limit, e.g. (5, "minute")."""
    count, _, period = str(RpmaSettings.model_fields["rate_limit_upload"].default).partition("/")
    return int(count), period


def _limit_reading(results: Results, wf: WorkflowFigures) -> str:
    count, period = upload_limit()
    uploads = sum(1 for n in results.steps_photos if n)
    largest = max(results.steps_photos)
    text = (
        f"With the server's default upload limit ({count} `photo_upload` calls a {period} "
        f"per user; off here), a standard job's {wf.photos} photos fit in its {uploads} "
        "calls, one per step."
    )
    if largest > count:
        text += (
            f" A client sending one photo per call would be refused before the end of a step "
            f"that needs {largest} photos if the technician takes them within a {period}."
        )
    return text


def reading(results: Results) -> str:
    wf = workflow_figures(results)
    rows = upload_rows(results.uploads)
    paragraphs = [
        _workflow_reading(results, wf, rows),
        _uploads_reading(rows),
        _profile_reading(results, rows),
        _limit_reading(results, wf),
    ]
    return "\n\n".join(_fill(paragraph) for paragraph in paragraphs)


def section(results: Results) -> str:
    info = machine()
    opts = results.options
    today = datetime.now(UTC).date().isoformat()
    wf = workflow_figures(results)
    rows = upload_rows(results.uploads)
    photos = " + ".join(str(n) for n in results.steps_photos)
    limit_count, limit_period = upload_limit()
    machine_line = f"""
        Measured {today} on {info["cpus"]} CPUs ({info["cpu"]}), {info["os"]}, Python
        {info["python"]}; {info["stack"]}; SQLite. One-minute load average before the run:
        {results.load:.2f}. The whole run took {results.seconds:.0f} s.
    """
    dataset = f"""
        **Dataset.** A fresh SQLite database and data directory; the first account (the
        admin) creates a technician, who signs in and does the work. Every intervention
        runs on a new task (a Tesla Model 3, scheduled today, zones {", ".join(ZONES)},
        assigned to the technician), so the `{TEMPLATE}` template applies: four mandatory
        steps needing {photos} = {wf.photos} photos. The photos are one JPEG made with
        Pillow ({PHOTO_WIDTH}x{PHOTO_HEIGHT}, gradient and noise, quality
        {PHOTO_QUALITY}, {results.photo_size / MB:.2f} MB, EXIF with camera, orientation
        and capture time), each copy with a numbered JPEG comment so that every photo
        has its own bytes and SHA-256.
    """
    method = f"""
        **Method.** `python -m bench.workflow` starts the real server (`rpma.asgi:app`
        under uvicorn with the options of bench/servers.py, one worker, rate limits off,
        so the upload limit of {limit_count} calls a {limit_period} does not apply) and
        drives it with the
        SDK (`rpma.client.IpcClient`, HTTP keep-alive, JSON). *Workflow*: after one
        warm-up, {wf.runs} interventions one after the other, each timed from sending
        `intervention_start` to the answer of `intervention_finalize`; per step one
        `photo_upload` carrying the step's `min_photos_required` photos (base64, encoded
        by the SDK inside the timed call), then `intervention_advance_step` with the
        step's required checklist ids ticked and every quality checkpoint passed, as the
        start answer lists them; finalize with a customer satisfaction (the quality
        score comes out at 100). The floor is {wf.calls} sequential round trips to
        `health_check` (public, no token; p50 of {wf.health_calls} taken before and after
        the interventions) plus the median time to write the same photo bytes into the
        server's data directory with its own storage code (`LocalPhotoStorage.put`: a
        temporary file, write, flush, fsync, rename), once per intervention. *Uploads*:
        `photo_upload` calls of {", ".join(str(b) for b in BATCHES)} photos over JSON
        (base64) and MessagePack (raw bytes), one call of each scenario per round in an
        order that rotates, a warm-up round and then {rows[0].calls} measured rounds;
        each body is built as the SDK builds it before the clock starts (its encoding
        time is the last column) and the call is timed to the decoded answer. MB/s is
        photo bytes (not wire bytes) over the summed call times; the disk floor writes
        the same photos the same way right after each call. Server CPU is the uvicorn
        process's CPU time (all threads) over the measured calls. *Where the time goes*:
        `photo_upload`'s handler called in the benchmark's process on the server's
        database and data directory (body decode, validation, one session with BEGIN
        IMMEDIATE, commit, answer JSON; no HTTP, token check or worker thread),
        {opts.profile_calls} calls of 4 photos per encoding, timed without and then with
        cProfile; each stage is the cumulative time of the function named in
        bench/workflow.py `STAGES`. The machine's cores are shared by the server and the
        client: read the ratios rather than the absolute figures.
    """
    parts = [
        "## Workflow: one PPF intervention end to end, and photo uploads",
        _fill(machine_line),
        _fill(dataset),
        _fill(method),
        _workflow_table(wf),
        _upload_table(rows),
        _profile_table(results.profiles),
        reading(results),
    ]
    return "\n\n".join(parts) + "\n"


def write(results: Results) -> None:
    write_section(SECTION, section(results))
