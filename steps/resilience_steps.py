"""Faults injected into the swarm's services: freeze and thaw, cut off the network and
reconnect, restart. Each step is one call on SwarmControl, which delegates to the
provider's service handle; a fault the provider does not declare raises
FaultNotSupported (and the scenario, tagged @needs.fault.<fault>, is skipped before). The fault
steps register a clean-up that undoes the fault, so a failing scenario leaves a healthy
swarm behind. Returning from a thaw, reconnect or restart means healthy again."""

import parse
from behave import given, register_type, when

SERVICE_NAMES = {"the tracker": "tracker", "the seeder": "seeder", "the backend": "backend",
                 "the range server": "range_server"}


@parse.with_pattern("|".join(sorted(SERVICE_NAMES, key=len, reverse=True)))
def _service(text: str) -> str:
    return SERVICE_NAMES[text]


register_type(Service=_service)


def _undo_later(context, name: str) -> None:
    context.add_cleanup(context.world.swarm.restore_service, name, context.world.library)


@given("{service:Service} has frozen")
@when("{service:Service} freezes")
def step_freeze(context, service):
    _undo_later(context, service)
    context.world.swarm.pause_service(service)


@when("{service:Service} thaws")
def step_thaw(context, service):
    context.world.swarm.unpause_service(service)


@given("{service:Service} has been cut off the network")
@when("{service:Service} is cut off the network")
def step_cut_off(context, service):
    _undo_later(context, service)
    context.world.swarm.disconnect_service(service)


@when("{service:Service} is back on the network")
def step_back_on_network(context, service):
    context.world.swarm.reconnect_service(service)


@when("{service:Service}'s container restarts")
def step_container_restarts(context, service):
    context.world.swarm.restart(service)


@when("the tracker lists the seeder's current address for every test video")
def step_tracker_lists_seeder_everywhere(context):
    for ref in context.world.library.seeded():
        context.world.swarm.wait_until_tracker_lists_seeder(context.scene.viewer.client, ref.info_hash)


@when("the tracker lists the seeder's current address for {video:Video}")
def step_tracker_lists_seeder(context, video):
    ref = context.world.library[video]
    context.world.swarm.wait_until_tracker_lists_seeder(context.scene.viewer.client, ref.info_hash)
