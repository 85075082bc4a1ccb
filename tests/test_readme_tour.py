"""The five-minute tour (docs/tour.md, which the README sends a newcomer to), run as written: its
blocks, in order, against the real app (real
PostgreSQL, S3 and clamd) with the demo accounts `make run` creates; and every account of
demo-accounts.txt signs in with the role and unit its line gives.

The tour's convention: each block is preceded by `<!-- tour: WHO -->`.
- WHO = `shell`: a ```sh block, run by bash in a working folder (where `ticket.json` is the last
  `fileUploadStart` answer, as the tour asks the reader to save it);
- WHO = `anonymous` or an account's login: a ```graphql block (one named operation), sent with
  that account's access token — from the last `signIn` answer for that login — and, when a ```json
  block follows, those variables;
- WHO = `WHO OPERATION` before a lone ```json block: the earlier operation of that name again,
  with these variables;
- WHO = `watch`: a subscription, validated against the schema (not run: no websockets here).
`<…>` placeholders in variables take only what the tour's table says: the password from
demo-accounts.txt, size and SHA-256 of the named file, and values of earlier answers.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from graphql import parse, validate
from sqlalchemy.ext.asyncio import AsyncSession

from app import policy_from_settings
from cli.demo_accounts import create_demo_accounts, read_accounts_file, write_accounts_file
from core.settings import Settings
from resolvers.root import schema
from tests.conftest import NOW, ROOT

TOUR = ROOT / "docs" / "tour.md"
BLOCK = re.compile(
    r"<!-- tour: (?P<marker>[^>]+?) -->\n```(?P<lang>\w+)\n(?P<body>.*?)```\n(?:```json\n(?P<variables>.*?)```\n)?",
    re.S,
)
ERROR_TYPES = {"ValidationFailed", "NotFound", "Refused", "InvalidTransition", "Conflict"}
PLACEHOLDER = re.compile(r"<([A-Z_0-9]+)>")


@dataclass(frozen=True)
class Block:
    who: str
    lang: str
    body: str
    variables: str | None
    operation: str | None = None  # a lone variables block: the earlier operation it runs again


def tour_blocks(text: str) -> list[Block]:
    section = text.split("\n", 1)[1]  # the page under its title
    blocks = []
    for m in BLOCK.finditer(section):
        marker = m["marker"].split()
        if m["lang"] == "json":
            assert len(marker) == 2, m["marker"]
            blocks.append(Block(marker[0], "json", "", m["body"], operation=marker[1]))
        else:
            blocks.append(Block(marker[0], m["lang"], m["body"], m["variables"]))
    # every code block of the section is a step of the tour: none left unmarked
    assert section.count("```") == 2 * sum(1 + (b.variables is not None and b.lang != "json") for b in blocks)
    return blocks


class Tour:
    """The reader: runs each block, keeps what the tour tells them to keep."""

    def __init__(self, client: httpx.AsyncClient, accounts: dict[str, str], folder: Path) -> None:
        self.client = client
        self.accounts = accounts
        self.folder = folder
        self.documents: dict[str, str] = {}
        self.tokens: dict[str, str] = {}
        self.values: dict[str, str] = {}
        self.answers: dict[str, Any] = {}  # operation name -> its last root field's answer

    async def run(self, block: Block) -> None:
        if block.lang == "sh":
            self.shell(block.body)
            return
        if block.who == "watch":
            errors = validate(schema._schema, parse(block.body))
            assert not errors, errors
            self.variables(block.variables)
            return
        if block.lang == "graphql":
            name = re.match(r"(?:query|mutation|subscription) (\w+)", block.body)
            assert name, f"a tour operation has a name: {block.body[:60]}"
            self.documents[name[1]] = block.body
            await self.graphql(block.who, name[1], block.variables)
        else:
            assert block.operation in self.documents, block.operation
            await self.graphql(block.who, block.operation, block.variables)

    def shell(self, script: str) -> None:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, (script, done.stdout, done.stderr)
        if "curl" in script:
            assert done.stdout.strip() in ("200", "201", "204"), done.stdout

    def variables(self, text: str | None) -> dict[str, Any]:
        if text is None:
            return {}
        quoted = re.sub(r":\s*<([A-Z_0-9]+)>", r': "<\1>"', text)  # numbers: "size": <SIZE>
        raw: dict[str, Any] = json.loads(quoted)
        filled: dict[str, Any] = self.fill(raw, raw)
        return filled

    def fill(self, value: Any, block: dict[str, Any]) -> Any:
        if isinstance(value, dict):
            return {k: self.fill(v, block) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v, block) for v in value]
        if not isinstance(value, str) or not PLACEHOLDER.search(value):
            return value
        name = PLACEHOLDER.fullmatch(value)
        assert name, f"a placeholder stands alone in its value: {value!r}"
        return self.lookup(name[1], block)

    def lookup(self, name: str, block: dict[str, Any]) -> Any:
        if name == "PASSWORD":
            return self.accounts[block["identifier"]]
        if name in ("SIZE", "SHA256"):
            data = (self.folder / block["filename"]).read_bytes()
            return len(data) if name == "SIZE" else hashlib.sha256(data).hexdigest()
        assert name in self.values, f"<{name}> is used before an answer gave it"
        return self.values[name]

    async def graphql(self, who: str, operation: str, variables_text: str | None) -> None:
        variables = self.variables(variables_text)
        headers = {} if who == "anonymous" else {"Authorization": f"Bearer {self.tokens[who]}"}
        response = await self.client.post(
            "/graphql", json={"query": self.documents[operation], "variables": variables}, headers=headers
        )
        assert response.status_code == 200, (operation, response.text)
        body = response.json()
        assert "errors" not in body, (operation, body["errors"])
        data = body["data"]
        field, answer = next(iter(data.items())) if len(data) == 1 else ("", data)
        if isinstance(answer, dict) and "__typename" in answer:
            assert answer["__typename"] not in ERROR_TYPES, (operation, answer)
        self.answers[operation] = answer
        self.keep(field, answer, variables, body)

    def keep(self, field: str, answer: Any, variables: dict[str, Any], body: dict[str, Any]) -> None:
        """What the tour's placeholder table says to take from each answer."""
        if field == "signIn":
            self.tokens[variables["identifier"]] = answer["session"]["accessToken"]
        elif field == "procedures":
            first = answer["edges"][0]["node"]
            assert first["code"] == "1.010041", first  # the tour's procedure comes first
            [component] = [c for c in first["components"] if c["required"]]
            self.values["COMPONENT_ID"] = component["id"]
        elif field == "fileUploadStart":
            self.values["FILE_ID"] = answer["file"]["id"]
            (self.folder / "ticket.json").write_text(json.dumps(body), encoding="utf-8")
        elif field == "dossierSaveDraft":
            self.values["DOSSIER_ID"] = answer["dossier"]["id"]
        elif field == "dossierReceive":
            self.values["CODE"] = answer["dossier"]["code"]


async def demo_accounts(session: AsyncSession, settings: Settings, folder: Path) -> dict[str, str]:
    """The accounts `make run` creates with the demo catalog, and the file it writes."""
    accounts = await create_demo_accounts(session, NOW, policy_from_settings(settings))
    await session.commit()
    path = write_accounts_file(settings.model_copy(update={"data_dir": folder}), accounts)
    assert oct(path.stat().st_mode)[-3:] == "600"
    return read_accounts_file(path)


async def test_the_readme_tour_runs_as_written(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    text = TOUR.read_text(encoding="utf-8")
    accounts = await demo_accounts(session, settings, tmp_path / "var")
    tour = Tour(client, accounts, tmp_path)
    blocks = tour_blocks(text)
    used = {p for b in blocks for p in PLACEHOLDER.findall(b.variables or "")}
    table = set(re.findall(r"^\| `<([A-Z_0-9]+)>`", text, re.M)) | set(
        re.findall(r"^\| `<[A-Z_0-9]+>`, `<([A-Z_0-9]+)>`", text, re.M)
    )
    assert used == table, "every placeholder of the tour is explained in its table"
    for block in blocks:
        await tour.run(block)

    a = tour.answers
    assert a["Complete"]["file"]["status"] == "READY"
    assert a["Submit"]["dossier"]["status"] == "SUBMITTED"
    [mine] = [e["node"] for e in a["Inbox"]["edges"] if e["node"]["id"] == tour.values["DOSSIER_ID"]]
    assert "RECEIVE" in mine["availableActions"]
    assert a["Receive"]["dossier"]["code"].startswith("000.01.00.H44-261126-")
    assert a["Forward"]["dossier"]["currentStep"] == 3
    assert a["Approve"]["dossier"]["status"] == "RESULT_READY"
    assert a["Return"]["dossier"]["status"] == "CLOSED"
    [followed] = [e["node"] for e in a["Mine"]["dossiers"]["edges"]]
    assert followed["status"] == "CLOSED"
    assert [e["action"] for e in followed["trail"]] == ["SUBMIT", "RECEIVE", "FORWARD", "APPROVE", "RETURN"]
    assert [d["source"] for d in a["Mine"]["vaultDocuments"]["items"]] == ["RESULT"]
    assert a["Lookup"]["public"]["statusLabel"] == "đã trả kết quả"


ME = "{ me { kind displayName assignments { role agency { code } } } }"
SIGN_IN = """mutation($i: String!, $p: String!) { signIn(identifier: $i, password: $p) {
  __typename ... on SignedIn { session { accessToken } } } }"""


async def test_every_demo_account_signs_in_as_its_line_says(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    accounts = await demo_accounts(session, settings, tmp_path)
    lines = [
        [part.strip() for part in line.split(" | ")]
        for line in (tmp_path / "demo-accounts.txt").read_text(encoding="utf-8").splitlines()
        if not line.startswith("#")
    ]
    assert len(lines) == len(accounts) == 12
    seen: set[str] = set()
    for label, unit, login, secret in lines:
        if label.startswith("ứng dụng"):
            token = await client.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, auth=(login, secret)
            )
            assert token.status_code == 200, token.text
            assert set(token.json()["scope"].split()) == set(unit.removeprefix("phạm vi ").split())
            seen.add("APP")
            continue
        signed = await client.post(
            "/graphql", json={"query": SIGN_IN, "variables": {"i": login, "p": secret}}
        )
        answer = signed.json()["data"]["signIn"]
        assert answer["__typename"] == "SignedIn", (login, answer)
        headers = {"Authorization": f"Bearer {answer['session']['accessToken']}"}
        me = (await client.post("/graphql", json={"query": ME}, headers=headers)).json()["data"]["me"]
        if me["kind"] == "STAFF":
            [assignment] = me["assignments"]
            role, agency = assignment["role"], assignment["agency"]
            assert f"({role})" in label, (label, role)
            assert unit.split()[0] == (agency["code"] if agency else "toàn"), (unit, agency)
            seen.add(f"{role}@{agency['code'] if agency else '*'}")
        else:
            seen.add(me["kind"])
            assert me["displayName"] in unit
    assert seen >= {
        "SYSTEM_ADMIN@*",
        "AGENCY_ADMIN@H44.100",
        "RECEPTION_OFFICER@H44.100",
        "SPECIALIST@H44.100",
        "LEADER@H44.100",
        "RECEPTION_OFFICER@H44.99",
        "SPECIALIST@H44.43",
        "LEADER@H44.43",
        "CITIZEN",
        "ORGANISATION",
        "APP",
    }
