"""Drives a live riposte through a client generated from openapi/openapi.json
(openapi-python-client), as an integrator would: every call must parse into the
document's types, with raise_on_unexpected_status. Run by scripts/client-smoke.sh."""

import io
import sys
import time

from riposte_client import AuthenticatedClient
from riposte_client.api.action_types import list_action_types
from riposte_client.api.actions import (
    create_action,
    get_action,
    get_action_history,
    list_action_responses,
    list_actions,
)
from riposte_client.api.actors import get_actor, list_actors
from riposte_client.api.analysis import (
    get_action_chain,
    get_counts,
    get_dyad,
    get_dyad_timeline,
    list_actor_designations,
    list_dyads,
)
from riposte_client.api.api_keys import list_api_keys
from riposte_client.api.audit import list_audit_entries
from riposte_client.api.changes import list_changes
from riposte_client.api.health import get_readiness
from riposte_client.api.imports import create_import, get_import
from riposte_client.api.webhooks import create_webhook, list_webhook_deliveries, list_webhooks
from riposte_client.models import (
    Action,
    ChangeEntity,
    ChangeKind,
    ImportState,
    NewAction,
    NewWebhook,
)
from riposte_client.types import File

base, key = sys.argv[1], sys.argv[2]
c = AuthenticatedClient(base_url=base, token=key, raise_on_unexpected_status=True)


def ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response.parsed is not None, response.content[:300]
    return response.parsed


# The founding example, read through typed calls.
page = ok(list_actions.sync_detailed(client=c, limit=5))
assert page.items and all(isinstance(a, Action) for a in page.items)
first = page.items[0]
assert ok(get_action.sync_detailed(first.id, client=c)).id == first.id
ok(get_action_history.sync_detailed(first.id, client=c))
ok(list_action_responses.sync_detailed(first.id, client=c))
ok(get_action_chain.sync_detailed(first.id, client=c))
assert "USA" in [a.code for a in ok(list_actors.sync_detailed(client=c)).items]
assert ok(get_actor.sync_detailed("USA", client=c)).code == "USA"
ok(list_actor_designations.sync_detailed("USA", client=c))
assert ok(list_dyads.sync_detailed(client=c)).items
assert ok(get_dyad.sync_detailed("USA", "CHN", client=c)).a == "USA"
assert ok(get_dyad_timeline.sync_detailed("USA", "CHN", client=c)).buckets
ok(get_counts.sync_detailed(client=c))
ok(list_action_types.sync_detailed(client=c))
ok(list_api_keys.sync_detailed(client=c))
ok(get_readiness.sync_detailed(client=c))

# A write, then the feed and the audit log say so in the document's enums.
body = NewAction.from_dict({
    "title": "Client smoke test: an asset freeze",
    "initiator": "USA", "target": "CHN", "authority": "us-ofac",
    "type": "asset_freeze", "status": "in_force", "announced_on": "2020-08-01",
})
created = ok(create_action.sync_detailed(client=c, body=body), 201)
# Read right after the write, the feed holds it (docs/API.md: a read waits for a numbering
# run under way for other commits).
changes = ok(list_changes.sync_detailed(client=c, limit=200))
mine = [ch for ch in changes.items if ch.id == created.id]
assert mine and mine[0].kind == ChangeKind.CREATED and mine[0].entity == ChangeEntity.ACTION, mine
audit = ok(list_audit_entries.sync_detailed(client=c, limit=5))
assert any(e.entity_id == created.id for e in audit.items)

# Webhooks: the secret once, then the subscription in the list.
hook = ok(create_webhook.sync_detailed(
    client=c, body=NewWebhook(url="https://hooks.example.org/smoke", kinds=[ChangeKind.CREATED])), 201)
assert hook.secret.startswith("whsec_")
assert hook.id in [w.id for w in ok(list_webhooks.sync_detailed(client=c)).items]
ok(list_webhook_deliveries.sync_detailed(hook.id, client=c))

# An import sent as the octet-stream file the document offers.
line = (b'{"title": "Client smoke test: imported", "initiator": "USA", "target": "CHN", '
        b'"authority": "us-ofac", "type": "asset_freeze", "status": "in_force", '
        b'"announced_on": "2020-08-02", "external_id": "smoke-1", "source_dataset": "smoke"}\n')
job = ok(create_import.sync_detailed(client=c, body=File(
    payload=io.BytesIO(line), file_name="smoke.ndjson", mime_type="application/octet-stream")), 202)
for _ in range(300):
    job = ok(get_import.sync_detailed(job.id, client=c))
    if job.state not in (ImportState.QUEUED, ImportState.RUNNING):
        break
    time.sleep(0.1)
assert job.state == ImportState.SUCCEEDED and job.counts.created == 1, job
print("client smoke test: every call parsed into the document's types")
