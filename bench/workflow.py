"""Workflow: one standard PPF intervention end to end over HTTP, and photo upload
throughput against writing the same bytes to disk (issue 5, "Performance").

`python -m bench.workflow` starts the real server (bench/servers.py: a fresh SQLite
database in a temporary data directory, rate limits off) and, as a technician signed in
through the SDK (`rpma.client.IpcClient`):

1. times whole interventions of the `ppf_standard` template on fresh tasks: start, then
   per step one `photo_upload` of the step's minimum of photos and one
   `intervention_advance_step`, then `intervention_finalize`; the floor is as many round
   trips to `health_check` plus writing the same photo bytes to disk;
2. times `photo_upload` calls of 1, 4 and 8 photos over JSON (base64) and MessagePack
   (raw bytes), in MB/s of photo bytes, against writing the same bytes in the server's
   data directory the way its photo storage does (temporary file, write, fsync, rename);
3. profiles `photo_upload` in this process (cProfile) to say where a photo's time goes.

`--quick` is a smoke run that leaves docs/PERFORMANCE.md alone.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import json
import pstats
import struct
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, cast

import httpx
from PIL import Image
from rich.console import Console

from bench.foundation import OWNER, BenchFailed, load_average
from bench.loadgen import percentile
from bench.servers import Server, ServerFailed, rpma_server
from rpma.app import build_services
from rpma.client import IpcClient
from rpma.client._http import build_request, read_response
from rpma.client.api.photos import photo
from rpma.client.codec import unpack
from rpma.config import Settings as RpmaSettings
from rpma.core import envelope
from rpma.core.commands import registry
from rpma.core.context import ClientInfo, CommandContext, Principal
from rpma.core.permissions import Role
from rpma.core.services import Services
from rpma.domains.interventions.templates import PPF_STANDARD
from rpma.domains.photos.storage import LocalPhotoStorage

SECTION: Final = "workflow"
TECHNICIAN: Final = {
    "email": "tech@shop.example",
    "first_name": "Theo",
    "last_name": "Technician",
    "password": "Film-Fitter-2024",
    "role": "technician",
}
# Three zones: more than two, so a PPF job gets the four-step ppf_standard template.
ZONES: Final = ("hood", "front_bumper", "roof")
TEMPLATE: Final = "ppf_standard"
BATCHES: Final = (1, 4, 8)
ENCODINGS: Final = ("json", "msgpack")
PHOTO_WIDTH, PHOTO_HEIGHT = 2000, 1500
PHOTO_QUALITY: Final = 90
PHOTO_TARGET_BYTES: Final = 1_500_000
MB: Final = 1_000_000
# The same room per step as the server's templates (max_photos_allowed).
STEP_ROOM: Final = 50


@dataclass(frozen=True)
class Options:
    iterations: int
    upload_rounds: int
    health_calls: int
    profile_calls: int
    quick: bool
    write_doc: bool


# Photos ----------------------------------------------------------------------------------------
class PhotoMaker:
    """One real JPEG (2000x1500, quality 90, about 1.5 MB, with a camera-like EXIF) made
    once; each photo handed out is that JPEG with a numbered comment segment after its
    EXIF, so every photo has its own bytes and SHA-256 at the same size."""

    def __init__(self) -> None:
        self.base = _make_jpeg()
        self.count = 0

    def next(self) -> bytes:
        self.count += 1
        return with_comment(self.base, f"rpma-bench photo {self.count:08d}".encode())

    def many(self, count: int) -> list[bytes]:
        return [self.next() for _ in range(count)]


def _render(noise_sigma: float) -> bytes:
    gradient = Image.linear_gradient("L").resize((PHOTO_WIDTH, PHOTO_HEIGHT))
    noise = Image.effect_noise((PHOTO_WIDTH, PHOTO_HEIGHT), noise_sigma)
    flipped = gradient.transpose(Image.Transpose.ROTATE_180)
    image = Image.merge(
        "RGB", (Image.blend(gradient, noise, 0.5), noise, Image.blend(flipped, noise, 0.5))
    )
    exif = Image.Exif()
    exif[0x010F] = "RPMA Bench"  # Make
    exif[0x0110] = "Gradient 1"  # Model
    exif[0x0112] = 1  # Orientation
    exif.get_ifd(0x8769)[0x9003] = "2026:11:24 10:30:00"  # DateTimeOriginal
    out = io.BytesIO()
    image.save(out, "JPEG", quality=PHOTO_QUALITY, exif=exif)
    return out.getvalue()


def _make_jpeg() -> bytes:
    """Noise over a gradient, its strength found by bisection to land near 1.5 MB."""
    low, high = 4.0, 64.0
    best = _render(24.0)
    for _ in range(8):
        middle = (low + high) / 2
        data = _render(middle)
        if abs(len(data) - PHOTO_TARGET_BYTES) < abs(len(best) - PHOTO_TARGET_BYTES):
            best = data
        if abs(len(data) - PHOTO_TARGET_BYTES) < 0.03 * PHOTO_TARGET_BYTES:
            break
        low, high = (middle, high) if len(data) < PHOTO_TARGET_BYTES else (low, middle)
    return best


def with_comment(jpeg: bytes, text: bytes) -> bytes:
    """``jpeg`` with a COM segment holding ``text`` after its SOI and APPn segments."""
    if jpeg[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    at = 2
    while jpeg[at] == 0xFF and 0xE0 <= jpeg[at + 1] <= 0xEF:  # APP0..APP15
        (length,) = struct.unpack(">H", jpeg[at + 2 : at + 4])
        at += 2 + length
    segment = b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text
    return jpeg[:at] + segment + jpeg[at:]


# The server's side ------------------------------------------------------------------------------
@dataclass
class Actors:
    admin: IpcClient
    technician: IpcClient
    technician_msgpack: IpcClient
    anonymous: IpcClient
    technician_principal: Principal
    technician_id: str
    tasks_made: int = 0

    def close(self) -> None:
        for client in (self.admin, self.technician, self.technician_msgpack, self.anonymous):
            client.close()


def sign_in(server: Server) -> Actors:
    """The first account (the admin), then a technician it creates, signed in."""
    admin = IpcClient(server.base_url, timeout=120.0)
    admin.auth.create_account(
        OWNER["email"], OWNER["first_name"], OWNER["last_name"], OWNER["password"]
    )
    if admin.token is None:
        raise BenchFailed("the first account answered without a token")
    created = admin.auth.create_account(
        TECHNICIAN["email"],
        TECHNICIAN["first_name"],
        TECHNICIAN["last_name"],
        TECHNICIAN["password"],
        TECHNICIAN["role"],
        log_in=False,
    )
    if created["user"]["role"] != "technician":
        raise BenchFailed(f"the technician was created as {created['user']['role']}")
    technician = IpcClient(server.base_url, timeout=120.0)
    answer = technician.auth.login(TECHNICIAN["email"], TECHNICIAN["password"])
    user = answer["user"]
    technician_msgpack = IpcClient(server.base_url, encoding="msgpack", timeout=120.0)
    technician_msgpack.token = technician.token
    principal = Principal(
        user_id=user["id"],
        role=Role.TECHNICIAN,
        session_id="bench",
        email=user["email"],
        expires_at_ms=int(answer["expires_at"]),
    )
    return Actors(
        admin=admin,
        technician=technician,
        technician_msgpack=technician_msgpack,
        anonymous=IpcClient(server.base_url, timeout=30.0),
        technician_principal=principal,
        technician_id=user["id"],
    )


def new_task(actors: Actors) -> str:
    """A scheduled PPF job on three zones, assigned to the technician (by the admin)."""
    actors.tasks_made += 1
    number = actors.tasks_made
    answer = actors.admin.call(
        "task_crud",
        {
            "action": "Create",
            "data": {
                "vehicle_plate": f"BN-{number:04d}-CH",
                "vehicle_make": "Tesla",
                "vehicle_model": "Model 3",
                "vehicle_year": 2024,
                "ppf_zones": list(ZONES),
                "film_type": "premium",
                "technician_id": actors.technician_id,
                "scheduled_date": datetime.now(UTC).date().isoformat(),
                "estimated_duration": 120,
            },
        },
    )
    task_id: str = answer["task"]["id"]
    return task_id


START_ARGS: Final[dict[str, Any]] = {
    "film_type": "premium",
    "film_brand": "XPEL",
    "film_model": "Ultimate Plus",
    "weather_condition": "sunny",
    "lighting_condition": "artificial",
    "work_location": "indoor",
    "temperature_celsius": 21.5,
    "humidity_percentage": 45,
}


def step_data(step: dict[str, Any]) -> dict[str, Any]:
    """The step's required checklist ticked and every quality checkpoint passed."""
    return {
        "checklist": {item["id"]: True for item in step["checklist"] if item["required"]},
        "quality_checkpoints": {item["id"]: True for item in step["quality_checkpoints"]},
        "notes": f"{step['step_name']} done (bench)",
    }


def photo_type(step: dict[str, Any]) -> str:
    return {"inspection": "before", "finalization": "after"}.get(step["step_type"], "during")


# 1. The workflow ------------------------------------------------------------------------------
@dataclass
class WorkflowRun:
    total_s: float
    start_s: float
    uploads_s: float
    advances_s: float
    finalize_s: float
    calls: int
    photos: int
    photo_bytes: int
    server_cpu_s: float | None
    disk_s: float = 0.0


def run_workflow(
    actors: Actors, server: Server, task_id: str, photos: list[bytes]
) -> tuple[WorkflowRun, list[bytes]]:
    """One intervention, timed by part; ``photos`` are what each step needs, in order.
    Answers the run and the photo bytes it sent."""
    client = actors.technician
    cpu_before = server.cpu_seconds()
    began = time.perf_counter()
    started = client.interventions.start(task_id, "ppf", **START_ARGS)
    after_start = time.perf_counter()
    intervention = started["intervention"]
    steps: list[dict[str, Any]] = started["steps"]
    if intervention["template_key"] != TEMPLATE or len(steps) != 4:
        raise BenchFailed(f"expected {TEMPLATE} with 4 steps, got {intervention['template_key']}")
    uploads = advances = 0.0
    calls, sent = 1, []
    remaining = list(photos)
    for step in steps:
        need = step["min_photos_required"]
        batch, remaining = remaining[:need], remaining[need:]
        if len(batch) != need:
            raise BenchFailed("not enough photos prepared for the workflow")
        entries = [
            photo(data, f"{step['id']}-{index + 1}.jpg", photo_type(step), mime_type="image/jpeg")
            for index, data in enumerate(batch)
        ]
        t0 = time.perf_counter()
        if entries:
            stored = client.photos.upload(intervention["id"], step["step_number"], entries)
            calls += 1
            if len(stored["photos"]) != need:
                raise BenchFailed(f"step {step['step_number']}: {len(stored['photos'])} stored")
        t1 = time.perf_counter()
        answer = client.interventions.advance_step(
            intervention["id"], step["step_number"], step_data(step)
        )
        t2 = time.perf_counter()
        calls += 1
        uploads += t1 - t0
        advances += t2 - t1
        sent += batch
        if step["step_number"] == len(steps) and answer["status"] != "completed":
            raise BenchFailed(f"the last step is {answer['status']} after advancing")
    t3 = time.perf_counter()
    final = client.interventions.finalize(
        intervention["id"], customer_satisfaction=9, final_observations="Bench run"
    )
    ended = time.perf_counter()
    calls += 1
    cpu_after = server.cpu_seconds()
    if final["intervention"]["status"] != "completed" or final["quality_score"] != 100:
        raise BenchFailed(f"finalize answered {final['intervention']['status']}")
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return (
        WorkflowRun(
            total_s=ended - began,
            start_s=after_start - began,
            uploads_s=uploads,
            advances_s=advances,
            finalize_s=ended - t3,
            calls=calls,
            photos=len(sent),
            photo_bytes=sum(len(p) for p in sent),
            server_cpu_s=cpu,
        ),
        sent,
    )


class DiskFloor:
    """The server's photo storage (rpma.domains.photos.storage.LocalPhotoStorage: a
    temporary file in the target folder, write, flush, fsync, rename) on a folder of
    its own in the server's data directory; what it writes is removed again, untimed."""

    def __init__(self, data_dir: Path) -> None:
        self.storage = LocalPhotoStorage(data_dir / "bench-floor")
        self.count = 0

    def write(self, photos: Sequence[bytes]) -> float:
        keys = []
        self.count += 1
        began = time.perf_counter()
        for index, data in enumerate(photos):
            key = f"floor{self.count:06d}/photo{index:03d}.jpg"
            self.storage.put(key, data)
            keys.append(key)
        elapsed = time.perf_counter() - began
        for key in keys:
            self.storage.delete(key)
        return elapsed


def health_latencies(actors: Actors, calls: int) -> list[float]:
    """Sequential `health_check` round trips (public, no token) on one keep-alive
    connection, as the workflow's calls are made."""
    client = actors.anonymous
    client.system.health_check()
    out = []
    for _ in range(calls):
        began = time.perf_counter()
        client.call("health_check", {})
        out.append(time.perf_counter() - began)
    return out


def photos_per_workflow() -> list[int]:
    """min_photos_required of ppf_standard's steps, as the server's template says."""
    steps = cast(list[dict[str, Any]], PPF_STANDARD["steps"])
    return [int(step["min_photos_required"]) for step in steps]


# 2. Upload throughput ---------------------------------------------------------------------------
@dataclass
class UploadSample:
    seconds: float
    photo_bytes: int
    wire_bytes: int
    encode_s: float


@dataclass
class UploadScenario:
    encoding: str
    batch: int
    samples: list[UploadSample] = field(default_factory=list)
    disk_s: list[float] = field(default_factory=list)
    server_cpu_s: float | None = 0.0

    @property
    def title(self) -> str:
        kind = "JSON (base64)" if self.encoding == "json" else "MessagePack (raw)"
        return f"{kind}, {self.batch} photo{'s' if self.batch > 1 else ''}"

    def add_cpu(self, cpu: float | None) -> None:
        if cpu is None or self.server_cpu_s is None:
            self.server_cpu_s = None
        else:
            self.server_cpu_s += cpu


class Room:
    """Where the next photos go: the steps of a started intervention, up to each step's
    room, then a new intervention on a new task (made outside the timed calls)."""

    def __init__(self, actors: Actors) -> None:
        self.actors = actors
        self.intervention_id = ""
        self.used: dict[int, int] = {}

    def place(self, count: int) -> tuple[str, int]:
        for step_number in range(1, 5):
            if self.intervention_id and self.used.get(step_number, 0) + count <= STEP_ROOM:
                self.used[step_number] = self.used.get(step_number, 0) + count
                return self.intervention_id, step_number
        started = self.actors.technician.interventions.start(
            new_task(self.actors), "ppf", **START_ARGS
        )
        self.intervention_id, self.used = started["intervention"]["id"], {1: count}
        return self.intervention_id, 1


def upload_once(
    http: httpx.Client,
    *,
    token: str,
    encoding: str,
    intervention_id: str,
    step_number: int,
    photos: list[bytes],
) -> UploadSample:
    """One `photo_upload` call, its body built as the SDK builds it (untimed; its
    encoding time is kept apart), timed from sending to the decoded answer."""
    msgpack = encoding == "msgpack"
    t0 = time.perf_counter()
    entries = []
    for index, data in enumerate(photos):
        entry = photo(data, f"upload-{index + 1}.jpg", "during", mime_type="image/jpeg")
        if not msgpack:
            entry["data"] = _b64(data)
        entries.append(entry)
    request = build_request(
        "photo_upload",
        {"intervention_id": intervention_id, "step_number": step_number, "photos": entries},
        token=token,
        msgpack=msgpack,
        compression=False,
    )
    t1 = time.perf_counter()
    answer = read_response(
        http.post(request.path, content=request.content, headers=request.headers)
    )
    t2 = time.perf_counter()
    if len(answer["photos"]) != len(photos):
        raise BenchFailed(f"photo_upload stored {len(answer['photos'])} of {len(photos)}")
    return UploadSample(
        seconds=t2 - t1,
        photo_bytes=sum(len(p) for p in photos),
        wire_bytes=len(request.content),
        encode_s=t1 - t0,
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def measure_uploads(
    actors: Actors, server: Server, maker: PhotoMaker, disk: DiskFloor, rounds: int
) -> list[UploadScenario]:
    """Each round makes one call of every scenario, in an order that rotates (a first
    round is warm-up); the disk floor writes the same bytes right after each call."""
    scenarios = [UploadScenario(enc, batch) for enc in ENCODINGS for batch in BATCHES]
    room = Room(actors)
    token = actors.technician.token
    if token is None:
        raise BenchFailed("the technician has no token")
    with httpx.Client(base_url=server.base_url, timeout=300.0) as http:
        for round_no in range(rounds + 1):
            shift = round_no % len(scenarios)
            for scenario in scenarios[shift:] + scenarios[:shift]:
                photos = maker.many(scenario.batch)
                intervention_id, step_number = room.place(scenario.batch)
                cpu_before = server.cpu_seconds()
                sample = upload_once(
                    http,
                    token=token,
                    encoding=scenario.encoding,
                    intervention_id=intervention_id,
                    step_number=step_number,
                    photos=photos,
                )
                cpu_after = server.cpu_seconds()
                disk_s = disk.write(photos)
                if round_no == 0:
                    continue  # warm-up
                scenario.samples.append(sample)
                scenario.disk_s.append(disk_s)
                scenario.add_cpu(
                    None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
                )
    return scenarios


# 3. Where a photo's time goes (in-process) ------------------------------------------------------
# (label, file suffix, function name): cumulative time of each, per photo. Pillow's stages
# are the server's own functions in rpma/domains/photos/imaging.py.
STAGES: Final = (
    ("request body decode (JSON / MessagePack)", "", "body_decode"),
    ("request validation (pydantic)", "pydantic/main.py", "model_validate"),
    ("base64 decode", "base64.py", "b64decode"),
    ("Pillow open + verify", "photos/imaging.py", "_identify"),
    ("Pillow decode of every pixel (load)", "photos/imaging.py", "_decode"),
    ("EXIF read", "photos/imaging.py", "_read_exif"),
    ("thumbnail (resize + JPEG encode)", "photos/imaging.py", "_thumbnail"),
    ("sha256", "~", "<built-in method _hashlib.openssl_sha256>"),
    ("file write + rename (photo and thumbnail)", "photos/storage.py", "put"),
    ("fsync (photo and thumbnail)", "~", "<built-in method posix.fsync>"),
    ("database commit (SQLAlchemy)", "sqlalchemy/orm/session.py", "commit"),
    ("answer JSON", "rpma/core/envelope.py", "dumps_json"),
)


@dataclass
class Profile:
    encoding: str
    batch: int
    calls: int
    wall_s: float  # without the profiler
    profiled_s: float
    stages: list[tuple[str, float]]  # label, seconds per photo (profiled)

    @property
    def photos(self) -> int:
        return self.calls * self.batch


class InProcess:
    """`photo_upload`'s handler in this process on the server's database and data
    directory, as the dispatcher runs it (one session, BEGIN IMMEDIATE, commit), the
    request body decoded first and the answer rendered to JSON after; no token check,
    no worker thread, no HTTP."""

    def __init__(self, data_dir: Path, principal: Principal) -> None:
        self.services: Services = build_services(
            RpmaSettings(data_dir=data_dir, database_url=None), migrate=False
        )
        self.principal = principal

    def close(self) -> None:
        self.services.db.dispose()

    def call(self, name: str, body: bytes, encoding: str) -> bytes:
        cmd = registry.get(name)
        if cmd is None:
            raise BenchFailed(f"no command {name}")
        args = body_decode(body, encoding)
        with self.services.db.session(write=cmd.writes_for(args.get("action"))) as db:
            ctx = CommandContext(
                db=db,
                services=self.services,
                client=ClientInfo(transport="bench"),
                correlation_id="req_bench",
                principal=self.principal,
            )
            result = cmd.handler(ctx, cmd.request.model_validate(args))
            db.commit()
        answer = envelope.success(envelope.to_plain(result), "req_bench")
        return envelope.dumps_json(envelope.json_safe(answer))


def body_decode(body: bytes, encoding: str) -> Any:
    return unpack(body) if encoding == "msgpack" else json.loads(body)


def _cumulative(stats: pstats.Stats, suffix: str, name: str) -> float:
    raw = cast(
        dict[tuple[str, int, str], tuple[int, int, float, float, Any]],
        stats.stats,  # type: ignore[attr-defined]
    )
    return sum(
        ct
        for (filename, _line, function), (_cc, _nc, _tt, ct, _callers) in raw.items()
        if function == name and filename.endswith(suffix)
    )


def profile_upload(
    inproc: InProcess,
    *,
    actors: Actors,
    maker: PhotoMaker,
    encoding: str,
    batch: int,
    calls: int,
) -> Profile:
    """``calls`` uploads of ``batch`` photos without the profiler (the first one a
    warm-up, the others timed), then ``calls`` more under cProfile; stages are the
    cumulative times of the functions in STAGES."""
    room = Room(actors)
    token = actors.technician.token or ""

    def bodies() -> list[bytes]:
        out = []
        for _ in range(calls):
            intervention_id, step_number = room.place(batch)
            entries = [
                photo(data, "p.jpg", "during", mime_type="image/jpeg") for data in maker.many(batch)
            ]
            if encoding == "json":
                for entry in entries:
                    entry["data"] = _b64(entry["data"])
            args = {
                "intervention_id": intervention_id,
                "step_number": step_number,
                "photos": entries,
            }
            out.append(
                build_request(
                    "photo_upload", args, token=token, msgpack=encoding == "msgpack",
                    compression=False,
                ).content
            )  # fmt: skip
        return out

    plain = bodies()
    inproc.call("photo_upload", plain[0], encoding)  # warm-up, not timed
    began = time.perf_counter()
    for body in plain[1:]:
        inproc.call("photo_upload", body, encoding)
    wall = (time.perf_counter() - began) / max(1, len(plain) - 1)
    profiled = bodies()
    profiler = cProfile.Profile()
    began = time.perf_counter()
    profiler.enable()
    try:
        for body in profiled:
            inproc.call("photo_upload", body, encoding)
    finally:
        profiler.disable()
    profiled_s = time.perf_counter() - began
    stats = pstats.Stats(profiler)
    photos = calls * batch
    stages = [
        (label, _cumulative(stats, suffix, name) / photos)
        for label, suffix, name in STAGES
        if encoding == "json" or name != "b64decode"
    ]
    return Profile(encoding, batch, calls, wall, profiled_s / calls, stages)


# The run ----------------------------------------------------------------------------------------
@dataclass
class Results:
    options: Options
    load: float
    photo_size: int
    workflows: list[WorkflowRun]
    health_s: list[float]
    uploads: list[UploadScenario]
    profiles: list[Profile]
    steps_photos: list[int]
    seconds: float = 0.0


@contextmanager
def _server(workdir: Path) -> Iterator[tuple[Server, Path]]:
    with rpma_server(workdir) as server:
        data_dirs = sorted(workdir.glob("data-*"))
        if len(data_dirs) != 1:
            raise BenchFailed(f"expected one server data directory in {workdir}")
        yield server, data_dirs[0]


def run(opts: Options, console: Console) -> Results:
    began = time.perf_counter()
    load = load_average()
    console.print("Making the test photo (2000x1500 JPEG, quality 90)...")
    maker = PhotoMaker()
    console.print(f"  {len(maker.base):,} bytes")
    steps_photos = photos_per_workflow()
    per_workflow = sum(steps_photos)
    with (
        tempfile.TemporaryDirectory(prefix="rpma-bench-") as tmp,
        _server(Path(tmp)) as (
            server,
            data_dir,
        ),
    ):
        console.print(f"Server up on {server.base_url}; signing in the admin and a technician...")
        actors = sign_in(server)
        inproc: InProcess | None = None
        try:
            disk = DiskFloor(data_dir)
            health = health_latencies(actors, opts.health_calls // 2)

            console.print(f"Workflow: 1 warm-up + {opts.iterations} interventions...")
            workflows: list[WorkflowRun] = []
            for number in range(opts.iterations + 1):
                task_id = new_task(actors)
                run_, sent = run_workflow(actors, server, task_id, maker.many(per_workflow))
                run_.disk_s = disk.write(sent)
                if number:
                    workflows.append(run_)
                    console.print(
                        f"  {number}/{opts.iterations}: {run_.total_s:.2f} s "
                        f"(disk floor {run_.disk_s:.3f} s)"
                    )
            health += health_latencies(actors, opts.health_calls - opts.health_calls // 2)

            console.print(
                f"Uploads: {len(ENCODINGS) * len(BATCHES)} scenarios x "
                f"(1 warm-up + {opts.upload_rounds}) rounds..."
            )
            uploads = measure_uploads(actors, server, maker, disk, opts.upload_rounds)

            console.print("Profiling photo_upload in-process (cProfile)...")
            inproc = InProcess(data_dir, actors.technician_principal)
            profiles = [
                profile_upload(
                    inproc,
                    actors=actors,
                    maker=maker,
                    encoding=encoding,
                    batch=4,
                    calls=opts.profile_calls,
                )
                for encoding in ENCODINGS
            ]
        finally:
            if inproc is not None:
                inproc.close()
            actors.close()
        if server.process.poll() is not None:
            raise BenchFailed(f"the server died:\n{server.log_tail()}")
    return Results(
        options=opts,
        load=load,
        photo_size=len(maker.base),
        workflows=workflows,
        health_s=health,
        uploads=uploads,
        profiles=profiles,
        steps_photos=steps_photos,
        seconds=time.perf_counter() - began,
    )


def p(values: Sequence[float], fraction: float) -> float:
    return percentile(sorted(values), fraction)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.workflow",
        description="One ppf_standard intervention end to end over HTTP against round trips "
        "plus disk writes, and photo_upload throughput against writing the same bytes.",
    )
    parser.add_argument("--iterations", type=int, default=None, help="interventions (20)")
    parser.add_argument(
        "--upload-rounds", type=int, default=None, help="calls per upload scenario (10)"
    )
    parser.add_argument(
        "--health-calls", type=int, default=400, help="health_check round trips for the floor"
    )
    parser.add_argument(
        "--profile-calls", type=int, default=None, help="4-photo calls profiled per encoding (6)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="3 interventions, 2 rounds; leaves the docs alone"
    )
    parser.add_argument(
        "--no-write", action="store_true", help="do not rewrite docs/PERFORMANCE.md"
    )
    return parser.parse_args(argv)


def options(args: argparse.Namespace) -> Options:
    quick: bool = args.quick

    def pick(value: int | None, normal: int, smoke: int) -> int:
        chosen = value if value is not None else (smoke if quick else normal)
        if chosen < 1:
            raise SystemExit("counts must be at least 1")
        return chosen

    return Options(
        iterations=pick(args.iterations, 20, 3),
        upload_rounds=pick(args.upload_rounds, 10, 2),
        health_calls=max(2, args.health_calls if not quick else min(args.health_calls, 100)),
        profile_calls=pick(args.profile_calls, 6, 2),
        quick=quick,
        write_doc=not (quick or args.no_write),
    )


def main(argv: Sequence[str] | None = None) -> int:
    from bench import workflow_report

    opts = options(parse_args(argv))
    console = Console()
    try:
        results = run(opts, console)
    except (BenchFailed, ServerFailed) as exc:
        console.print(f"[red]{exc}[/]")
        return 1
    workflow_report.print_results(console, results)
    if opts.write_doc:
        workflow_report.write(results)
        console.print(f"Wrote the {SECTION!r} section of docs/PERFORMANCE.md.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
