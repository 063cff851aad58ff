"""A recording stand-in for `gcloud`, put first on PATH by the tests.

It appends each argv (JSON, one line) to $FAKE_GCLOUD_LOG and keeps a small model of a GCP
project in $FAKE_GCLOUD_STATE (JSON): resources keyed by command group, name and scope, IAM
bindings, enabled services and secret versions. `describe` answers found / NOT_FOUND from that
state, `create` fails with ALREADY_EXISTS when the resource is there (so a script that creates
without checking fails its test), and IAM bindings need their resource and service-account
member to exist, as on GCP. Workload identity pools and providers are soft-deleted, as on GCP.
Secret payloads arrive on stdin; they are kept in the state file (never in the log) so tests
can prove the token was delivered without ever being an argument.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# The gcloud verbs the scripts use. The tests import MUTATING_VERBS: a second bootstrap run
# must issue none of them.
MUTATING_VERBS = frozenset(
    {
        "create",
        "create-oidc",
        "update-oidc",
        "delete",
        "undelete",
        "enable",
        "add",
        "rm",
        "add-iam-policy-binding",
        "remove-iam-policy-binding",
    }
)
READ_VERBS = frozenset({"describe", "list", "get-iam-policy"})
VERBS = MUTATING_VERBS | READ_VERBS
PROJECT_NUMBER = "123456789012"


def parse(argv: list[str]) -> tuple[list[str], str, list[str], dict[str, str]]:
    """Splits argv into command groups, verb, positional names and --flag=value flags."""
    flags: dict[str, str] = {}
    positionals: list[str] = []
    for arg in argv:
        if arg.startswith("--"):
            key, _, value = arg[2:].partition("=")
            flags[key] = value
        else:
            positionals.append(arg)
    for index, word in enumerate(positionals):
        if word in VERBS:
            return positionals[:index], word, positionals[index + 1 :], flags
    fail(f"fake gcloud: no known verb in {argv}")
    raise AssertionError  # unreachable


def fail(message: str, code: int = 1) -> None:
    print(message, file=sys.stderr)
    sys.exit(code)


def resource_key(groups: list[str], name: str, flags: dict[str, str]) -> str:
    if groups[:2] == ["iam", "service-accounts"] and "@" not in name:
        name = f"{name}@{flags['project']}.iam.gserviceaccount.com"
    scope = [flags.get("workload-identity-pool", "")]
    if groups[0] != "storage":  # a bucket's location is not part of its name
        scope.append(flags.get("location", ""))
    return "|".join([" ".join(groups), name, *scope])


def sa_member_exists(state: dict, member: str) -> bool:
    if not member.startswith("serviceAccount:"):
        return True
    email = member.split(":", 1)[1]
    return resource_key(["iam", "service-accounts"], email, {}) in state["resources"]


def main() -> None:
    argv = sys.argv[1:]
    with open(os.environ["FAKE_GCLOUD_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(argv) + "\n")
    state_path = Path(os.environ["FAKE_GCLOUD_STATE"])
    state = (
        json.loads(state_path.read_text())
        if state_path.exists()
        else {"resources": {}, "bindings": [], "services": [], "secret_versions": {}}
    )
    groups, verb, names, flags = parse(argv)
    output = handle(state, groups, verb, names, flags)
    state_path.write_text(json.dumps(state, indent=1, sort_keys=True))
    if output:
        print(output)


def handle(state: dict, groups: list[str], verb: str, names: list[str], flags: dict) -> str:
    resources = state["resources"]
    if groups == ["auth"]:
        return "" if os.environ.get("FAKE_GCLOUD_LOGGED_OUT") else "admin@example.com"
    if groups == ["projects"] and verb == "describe":
        fields = {"projectId": names[0], "projectNumber": PROJECT_NUMBER}
        return fields[flags["format"][len("value(") : -1]]
    if groups == ["services"]:
        if verb == "list":
            return "\n".join(state["services"])
        state["services"] = sorted(set(state["services"]) | set(names))
        return ""
    if groups == ["secrets", "versions"]:
        if verb == "list":
            versions = state["secret_versions"].get(names[0], [])
            return str(len(versions)) if versions else ""
        state["secret_versions"].setdefault(names[0], []).append(sys.stdin.read())
        return ""
    if groups == ["storage"] and verb == "rm":
        groups, verb = ["storage", "buckets"], "delete"
    if verb.endswith("iam-policy") or verb.endswith("iam-policy-binding"):
        return handle_iam(state, groups, verb, names, flags)

    key = resource_key(groups, names[0], flags)
    record = resources.get(key)
    if verb == "describe":
        if record is None:
            fail(f"ERROR: (gcloud) NOT_FOUND: {key}")
        field = flags.get("format", "value(name)")[len("value(") : -1]
        values = {"state": record["state"], "name": names[0]} | {
            "attributeCondition": record["flags"].get("attribute-condition", "")
        }
        return values[field]
    if verb in ("create", "create-oidc"):
        if record is not None:
            fail(f"ERROR: (gcloud) ALREADY_EXISTS: {key}")
        resources[key] = {"state": "ACTIVE", "flags": flags}
        return ""
    if record is None:
        fail(f"ERROR: (gcloud) NOT_FOUND: {key}")
    if verb == "update-oidc":
        record["flags"].update(flags)
    elif verb == "undelete":
        record["state"] = "ACTIVE"
    elif verb == "delete" and "workload-identity-pools" in groups:
        record["state"] = "DELETED"
    elif verb == "delete":
        del resources[key]
        state["bindings"] = [b for b in state["bindings"] if b[0] != key]
    return ""


def handle_iam(state: dict, groups: list[str], verb: str, names: list[str], flags: dict) -> str:
    target = resource_key(groups, names[0], flags)
    if groups != ["projects"] and target not in state["resources"]:
        fail(f"ERROR: (gcloud) NOT_FOUND: {target}")
    if verb == "get-iam-policy":
        return "\n".join(
            f"{role}\t{member}" for key, role, member in state["bindings"] if key == target
        )
    binding = [target, flags["role"], flags["member"]]
    if verb == "add-iam-policy-binding":
        if not sa_member_exists(state, flags["member"]):
            fail(f"ERROR: (gcloud) INVALID_ARGUMENT: {flags['member']} does not exist")
        if binding not in state["bindings"]:
            state["bindings"].append(binding)
        return ""
    if binding not in state["bindings"]:
        fail("ERROR: Policy binding with the specified principal, role, and condition not found!")
    state["bindings"].remove(binding)
    return ""


if __name__ == "__main__":
    main()
