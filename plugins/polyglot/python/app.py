"""gopherbot-py: one gopherbot rule written in Python, against the same `gopherbot`
world as the Rust plugin. It mirrors the Rust rule "label mobile issues", so a diff
of the two shows where they decide alike and where they differ.
"""

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import bot
from wit_world.imports import corpus, progress, types

RULE = "label mobile issues"
PREFIX = "x/mobile"
LABEL = "mobile"


def issues(query):
    """Every issue the query matches, a page at a time. Each is announced to the host
    before the rule looks at it: if the rule traps on one, the host runs it again
    without that issue."""
    while True:
        page = corpus.issues(query)
        for issue in page.items:
            progress.deciding(progress.Subject_Issue(issue.id))
            yield issue
        if page.next_cursor is None:
            return
        query.cursor = page.next_cursor


def events(issue_ref):
    """An issue's events, oldest first."""
    cursor = None
    while True:
        page = corpus.issue_events(issue_ref, 1000, cursor)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def label_mobile_issues():
    # Open golang/go issues titled "x/mobile…", pull requests excluded.
    query = corpus.IssueQuery(
        repo="golang/go",
        state=corpus.StateFilter.OPEN,
        labels=[],
        milestone=None,
        no_milestone=False,
        title_prefix=PREFIX,
        updated_since=None,
        pull_requests=False,
        limit=1000,
        cursor=None,
    )
    actions = []
    for issue in issues(query):
        if LABEL in issue.labels:
            continue
        # A person removed a label once: never undo a human edit.
        if any(e.kind == "unlabeled" for e in events(issue.id)):
            continue
        actions.append(
            bot.Action(
                kind=bot.ActionKind_AddLabel((issue.id, LABEL)),
                reason=f'title starts with "{PREFIX}"',
            )
        )
    return actions


class Plugin(exports.Plugin):
    def describe(self) -> types.Description:
        return types.Description(
            name="gopherbot-py",
            version="0.1.0",
            kind=types.PluginKind.GOPHERBOT,
            summary="1 rule of gopherbot in Python (componentize-py)",
        )


class Bot(exports.Bot):
    def rules(self):
        return [
            bot.Rule(
                name=RULE,
                description='open "x/mobile" issues get mobile, unless a label was ever removed',
                explicit_only=False,
            )
        ]

    def run(self, rule: str):
        if rule != RULE:
            raise Err(f"unknown rule {rule!r}")
        try:
            return label_mobile_issues()
        except Err as e:
            # A corpus query failed: the rule reports it as its error.
            raise Err(str(e.value))
