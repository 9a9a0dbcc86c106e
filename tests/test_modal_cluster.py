"""Training stages on several machines: a Modal cluster (`modal.clustered`) per stage call.

Nothing here reaches Modal: Modal's cluster decorator is read back from the app Modal's own client
builds, and `get_cluster_info` (only answered inside a real cluster) is stood in for by the addresses
and rank a cluster gives each container. What runs for real: the driver's choice of function, the
cluster containers' code, and the `accelerate launch` line each builds (read back with accelerate's own
argument parser); the launch itself is where the stand-in stops.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.backends.modal_backend import CLUSTER_STAGE_FUNCTIONS, STAGE_FUNCTIONS, JobSettings, stage_function
from core.config import load_study, resolve, resolve_full, snapshot_text
from core.errors import RdtuiError
from core.store.runstore import Run
from core.training import distributed
from modal_jobs import remote
from tests.conftest import CONFIG
from tests.test_modal_app import describe_app

CLUSTER = ["gpu.sft=H100:8", "gpu.grpo=H100:8", "distributed.num_machines=2"]
IPS = ["fdaa:1:2::a", "fdaa:1:2::b"]  # what a cluster lists: its containers' i6pn (IPv6) addresses, rank order
RUN_ID = "sft_then_grpo-20260101-000000-c1c1"


def modal_cfg(*overrides: str, condition: str = "sft_then_grpo"):
    return resolve(load_study(CONFIG), condition, "modal", overrides=list(overrides))


def test_the_driver_calls_the_clustered_function_for_a_stage_on_several_machines():
    several, one = modal_cfg(*CLUSTER), modal_cfg("gpu.sft=H100:8", "gpu.grpo=H100:8")
    assert [stage_function(several, s) for s in ("sft", "grpo", "eval")] == [
        "stage_sft_cluster",
        "stage_grpo_cluster",
        "stage_eval",  # evaluation is one process on one GPU whatever the training layout
    ]
    assert [stage_function(one, s) for s in ("sft", "grpo", "eval")] == ["stage_sft", "stage_grpo", "stage_eval"]
    # The cluster's GPU stays with its decorator (each container takes a whole machine); one machine's is per call.
    assert "gpu" not in remote.stage_call_options(several, "grpo")
    assert remote.stage_call_options(one, "grpo")["gpu"] == "H100:8"


def test_the_deployment_changes_with_the_cluster_size():
    names = {
        machines: JobSettings.from_config(modal_cfg(*CLUSTER, f"distributed.num_machines={machines}"))
        .versioned()
        .deployment
        for machines in (1, 2, 3)
    }
    assert len(set(names.values())) == 3, names  # a cluster of another size is a deployment of its own
    assert JobSettings.from_config(modal_cfg(*CLUSTER)).num_machines == 2
    settings = JobSettings.from_config(modal_cfg(*CLUSTER))
    assert JobSettings.from_json(settings.to_json()) == settings


DESCRIBE_CLUSTERS = """
import json
from modal._utils.async_utils import synchronizer
import modal_jobs.app as module
out = {}
for name, function in module.app.registered_functions.items():
    info = synchronizer._translate_in(function)._function_info.cluster_info
    out[name] = {"gpu": function._spec_.gpus, "cluster_size": info.size if info else None}
print(json.dumps(out))
"""


def test_a_stage_on_several_machines_is_a_modal_cluster_of_that_size(tmp_path, monkeypatch):
    """Read back from the app Modal's client builds (the real `modal.clustered` decorator)."""
    import tests.test_modal_app as app_tests

    monkeypatch.setattr(app_tests, "DESCRIBE", DESCRIBE_CLUSTERS)
    several = describe_app(tmp_path, {"RDTUI_MODAL_SETTINGS": JobSettings.from_config(modal_cfg(*CLUSTER)).to_json()})
    for stage, name in CLUSTER_STAGE_FUNCTIONS.items():
        assert several[name] == {"gpu": "H100:8", "cluster_size": 2}
        assert several[STAGE_FUNCTIONS[stage]]["cluster_size"] is None
    assert several["stage_eval"]["cluster_size"] is None and several["run_condition"]["cluster_size"] is None
    one = describe_app(tmp_path, {"RDTUI_MODAL_SETTINGS": JobSettings.from_config(modal_cfg()).to_json()})
    assert set(one) == {"run_condition", *STAGE_FUNCTIONS.values()}  # no cluster functions on one machine


def test_the_app_decorates_only_the_cluster_functions_with_the_run_s_machine_count(monkeypatch):
    """The factory with a stand-in for Modal's decorator: which bodies it wraps, and with which size."""
    import modal_jobs.app as module

    wrapped: list[tuple[int, str]] = []

    def fake_clustered(size: int):
        def decorate(body):
            wrapped.append((size, body.__name__))
            return body

        return decorate

    monkeypatch.setattr(module, "clustered", fake_clustered)
    jobs = module.build_app(JobSettings.from_config(modal_cfg(*CLUSTER, "distributed.num_machines=3")))
    assert sorted(wrapped) == [(3, "stage_grpo_cluster"), (3, "stage_sft_cluster")]
    assert set(jobs.functions) == {"run_condition", *STAGE_FUNCTIONS.values(), *CLUSTER_STAGE_FUNCTIONS.values()}
    assert jobs.options["stage_grpo_cluster"]["gpu"] == "H100:8"
    assert jobs.options["stage_grpo_cluster"]["image"] is jobs.options["stage_grpo"]["image"]
    wrapped.clear()
    module.build_app(JobSettings.from_config(modal_cfg()))
    assert wrapped == []


class StandInFunction:
    """A deployed stage function: records which function the driver spawned, with which options."""

    def __init__(self, name: str, spawned: list[str], volume_root: Path):
        self.name, self.spawned, self.volume_root = name, spawned, volume_root

    def with_options(self, **options):
        return self

    def spawn(self, request):
        self.spawned.append(self.name)
        run = Run(remote.runs_root(self.volume_root) / request["run_id"])
        done = [*run.reload().extra.get("stages_done", []), request["stage"]]
        run.update(extra_items={"stages_done": done})  # the stage container's work, done
        return SimpleNamespace(object_id=f"fc-{self.name}", get=lambda: "running")


@pytest.mark.parametrize(
    "machines,expected",
    [(2, ["stage_sft_cluster", "stage_grpo_cluster", "stage_eval"]), (1, ["stage_sft", "stage_grpo", "stage_eval"])],
)
def test_the_driver_spawns_the_cluster_function_for_a_run_on_several_machines(
    tmp_path, monkeypatch, machines, expected
):
    """`run_condition` itself, on a stand-in Volume folder and stand-in deployed functions."""
    import modal

    import modal_jobs.app as module

    overrides = [*CLUSTER, f"distributed.num_machines={machines}"]
    spawned: list[str] = []
    names = [*STAGE_FUNCTIONS.values(), *CLUSTER_STAGE_FUNCTIONS.values()]
    volume = SimpleNamespace(commit=lambda: None, reload=lambda: None)
    functions = {name: StandInFunction(name, spawned, tmp_path) for name in names}
    monkeypatch.setattr(module, "jobs", SimpleNamespace(volume=volume, functions=functions))
    monkeypatch.setattr(module, "VOLUME_MOUNT", str(tmp_path))
    monkeypatch.setattr(module, "_current_call_id", lambda: "fc-driver")
    # The driver stops the previous stage's (finished) call before spawning the next one.
    monkeypatch.setattr(modal.FunctionCall, "from_id", lambda call_id: SimpleNamespace(cancel=lambda: None))
    snapshot = snapshot_text(resolve_full(load_study(CONFIG), "sft_then_grpo", "modal", overrides))
    record = {"id": RUN_ID, "condition": "sft_then_grpo", "profile": "modal", "backend": "modal"}
    module.run_condition({"run_id": RUN_ID, "record": record, "snapshot": snapshot, "launch": 1})
    assert spawned == expected


# -- each container of the cluster --------------------------------------------------------------------------------


@pytest.fixture
def cluster_run(tmp_path, monkeypatch):
    """A run folder on a stand-in Volume, a machine with the 8 GPUs its stage pays for, and the
    launch recorded instead of started."""
    import torch

    snapshot = snapshot_text(resolve_full(load_study(CONFIG), "sft_then_grpo", "modal", CLUSTER))
    record = {"id": RUN_ID, "condition": "sft_then_grpo", "profile": "modal", "backend": "modal"}
    run = remote.prepare_run_folder(
        tmp_path, {"run_id": RUN_ID, "record": record, "snapshot": snapshot, "launch": 1}, None
    )
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 8)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    launches: list[dict] = []

    def record_launch(command, run_dir, stage, *, env, init_model, resume, prepare=False, main_machine=True):
        launches.append(
            {
                "command": command,
                "stage": stage,
                "init": init_model,
                "resume": resume,
                "prepare": prepare,
                "main_machine": main_machine,
            }
        )
        return None if not main_machine else run.final_model_dir(stage)

    monkeypatch.setattr(distributed, "launch_ranks", record_launch)
    # A cluster container sets its environment in-process (cluster position, the hub cache on the
    # Volume): this process gets its own back afterwards, so nothing leaks into later tests.
    saved = dict(os.environ)
    for key in remote.stage_environment(tmp_path):
        os.environ.pop(key, None)
    yield tmp_path, run, launches
    os.environ.clear()
    os.environ.update(saved)


def launch_flags(command: list[str]):
    from accelerate.commands.launch import launch_command_parser

    return launch_command_parser().parse_args([*command[3:], "-m", distributed.RANK_MODULE])


def torchrun_rendezvous(command: list[str]) -> tuple[str, int, str, int, str]:
    """What accelerate hands torchrun for this command line (its own validation, the shipped config
    applied): (host, port) of the rendezvous as torch parses it, machines, this machine, processes here."""
    from accelerate.commands.launch import _validate_launch_command
    from accelerate.utils.launch import prepare_multi_gpu_env
    from torch.distributed.elastic.rendezvous.utils import parse_rendezvous_endpoint

    args, _, _ = _validate_launch_command(launch_flags(command))
    prepare_multi_gpu_env(args)
    host, port = parse_rendezvous_endpoint(args.rdzv_endpoint, -1)
    return host, port, args.nnodes, args.node_rank, args.nproc_per_node


def test_machine_1_launches_its_share_of_the_ranks_toward_machine_0(cluster_run, monkeypatch):
    volume_root, run, launches = cluster_run
    commits: list[float] = []
    status = remote.run_cluster_stage(
        volume_root,
        RUN_ID,
        "grpo",
        machine_rank=1,
        container_ips=IPS,
        commit=lambda: commits.append(1.0),
        commit_interval=3600,
    )
    assert status == "done"
    (launch,) = launches
    args = launch_flags(launch["command"])
    assert Path(args.config_file) == distributed.CONFIG_DIR / "ddp.yaml"
    assert (args.num_machines, args.machine_rank, args.num_processes) == (2, 1, 16)  # 8 ranks on each machine
    assert (args.main_process_ip, args.main_process_port) == (IPS[0], distributed.MULTI_NODE_PORT)
    # It starts where machine 0 does: from the SFT stage's model, resuming from the last checkpoint.
    assert (launch["init"], launch["resume"], launch["main_machine"]) == (run.final_model_dir("sft"), True, False)
    assert commits  # what its ranks write (DeepSpeed's checkpoint shards) reaches the Volume
    assert os.environ[distributed.MACHINE_RANK_ENV] == "1"
    # Machine 0 alone writes the run: nothing of this machine's reached run.json or the log.
    assert run.reload().status == "queued" and run.log_path.read_text() == ""
    monkeypatch.undo()  # this machine's CUDA stand-in off: accelerate's own checks run below
    # torchrun meets machine 0 at its IPv6 address (torch's endpoint parser takes the last ':' as the port's).
    assert torchrun_rendezvous(launch["command"]) == (IPS[0], distributed.MULTI_NODE_PORT, "2", 1, "8")


def test_machine_0_runs_the_stage_as_one_machine_does_with_the_cluster_s_address(cluster_run, monkeypatch):
    volume_root, run, launches = cluster_run
    stages: list[tuple] = []
    monkeypatch.setattr(remote, "run_stage", lambda root, run_id, stage, **kw: stages.append((run_id, stage)) or "x")
    assert (
        remote.run_cluster_stage(volume_root, RUN_ID, "sft", machine_rank=0, container_ips=IPS, commit=lambda: None)
        == "x"
    )
    assert stages == [(RUN_ID, "sft")]
    # What that stage's launcher then builds from the cluster's environment:
    distributed.run_launched_stage("sft", run.config(), run, None, resume=True)
    args = launch_flags(launches[-1]["command"])
    assert (args.num_machines, args.machine_rank, args.main_process_ip) == (2, 0, IPS[0])
    assert launches[-1]["main_machine"]
    monkeypatch.undo()
    assert torchrun_rendezvous(launches[-1]["command"]) == (IPS[0], distributed.MULTI_NODE_PORT, "2", 0, "8")


def test_a_merge_before_grpo_is_done_on_each_machine_for_its_own_ranks(cluster_run):
    """A Volume shows one container's writes to another only after a commit and a reload, so each
    machine merges the SFT adapter into its own view before its ranks load it."""
    volume_root, run, launches = cluster_run
    adapter = run.final_model_dir("sft")
    adapter.mkdir(parents=True)
    (adapter / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA"}))
    cfg = run.config()
    assert cfg.grpo.after_sft == "merge"
    remote.run_cluster_stage(
        volume_root, RUN_ID, "grpo", machine_rank=1, container_ips=IPS, commit=lambda: None, commit_interval=3600
    )
    prepare, ranks = launches
    assert prepare["prepare"] and prepare["command"] == [sys.executable]  # one process, before the ranks
    assert not ranks["prepare"] and launch_flags(ranks["command"]).machine_rank == 1


def test_a_cluster_container_refuses_what_it_cannot_place(cluster_run, capsys):
    volume_root, _, launches = cluster_run
    with pytest.raises(RdtuiError, match="machine rank 2 is outside a cluster of 2 containers"):
        remote.run_cluster_stage(volume_root, RUN_ID, "grpo", machine_rank=2, container_ips=IPS, commit=lambda: None)
    with pytest.raises(RdtuiError, match="listed no container addresses"):
        remote.run_cluster_stage(volume_root, RUN_ID, "grpo", machine_rank=0, container_ips=[], commit=lambda: None)
    assert launches == []
