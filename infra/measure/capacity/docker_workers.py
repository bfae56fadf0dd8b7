"""Locust workers as containers on a docker run's network (`--ecosystem docker`).

The image (`infra/ecosystem/docker/Dockerfile.locust`) is the runtime image, which carries
Locust's wheels brought from the host like every other runtime package
(`build-images.sh`: no container reaches PyPI here), plus the crowd's modules. Each worker
joins the master on the host through the network's gateway and plays the streams at their
in-network addresses: the plan names the host's published ports (where the master and the
suite are), so the worker is told how to rewrite them (`SWARMSPEC_CROWD_URL_MAP`, read by
the locustfile). The containers carry the run's labels, so `provider.down()` and the
run's watchdog remove them with everything else.
"""

from __future__ import annotations

import json
from typing import Callable

from infra.ecosystem.docker import images
from infra.ecosystem.docker.layout import alias
from infra.ecosystem.docker.reaper import LABEL_SERVICE

ROLE = "locust"


def container_pid(service) -> int | None:
    """The host pid of a docker service's main process (psutil reads its CPU from the host)."""
    service.container.reload()
    return service.container.attrs["State"].get("Pid") or None


def url_map(provider) -> dict[str, str]:
    """Host URL prefix -> in-network URL prefix, for every port a service publishes on the
    host (its HTTP port, and a backend's own streaming port)."""
    mapping = {}
    for name, service in provider.services.items():
        service.container.reload()
        for container_port, bindings in (service.container.attrs["NetworkSettings"].get("Ports") or {}).items():
            for binding in bindings or ():
                mapping[f"http://127.0.0.1:{binding['HostPort']}"] = f"http://{alias(name)}:{container_port.split('/')[0]}"
    return mapping


def launcher(provider) -> Callable[[int, int], Callable[[], None]]:
    """A `worker_launcher` for `LocustRun`: starts worker `index` (a container joining the
    master's `port` on the host) and returns the function that saves its log to `log_dir`
    and removes it."""
    client = provider.client
    runtime = f"{images.HOLD_REPO}/runtime:{provider.run_id}"
    image = images.build_role_image(client, ROLE, runtime, progress=False)
    gateway = provider.network.attrs["IPAM"]["Config"][0]["Gateway"]
    mapping = json.dumps(url_map(provider))

    def start(port: int, index: int, log_dir=None) -> Callable[[], None]:
        name = f"{provider.layout.network_name}-locust-{index + 1}"
        container = client.containers.run(
            image, name=name, detach=True, init=True,
            command=["python", "-m", "locust", "-f", "/app/infra/suite/crowd/locustfile.py", "--worker",
                     "--master-host", gateway, "--master-port", str(port), "--loglevel", "WARNING"],
            environment={"SWARMSPEC_CROWD_URL_MAP": mapping, "PYTHONPATH": "/app"},
            labels={**provider.labels, LABEL_SERVICE: f"locust-{index + 1}"}, network=provider.layout.network_name)

        def stop() -> None:
            try:
                if log_dir is not None:               # its log, beside the master's
                    (log_dir / f"worker-{index + 1}.log").write_bytes(container.logs(stdout=True, stderr=True))
                container.remove(force=True)
            except Exception:   # noqa: BLE001 - already gone (the run's clean-up removes by label anyway)
                pass

        container.reload()
        stop.pid = container.attrs["State"]["Pid"]     # its processes, seen from the host: the sampler reads their CPU
        stop.label = f"worker-{index + 1}"
        return stop

    start.bind = gateway          # the master listens on the network's gateway only, not on every interface
    return start
