// gopherbot-js: one gopherbot rule written in JavaScript, against the same
// `gopherbot` world as the Rust plugin. It mirrors the Rust rule "label
// documentation issues" (Go's isDocumentationTitle), so a diff of the two shows
// where they decide alike and where they differ.

import { issues, issueEvents } from "xbuild:platform/corpus@0.2.0";
import { deciding } from "xbuild:platform/progress@0.2.0";

const RULE = "label documentation issues";
const LABEL = "Documentation";

// Every issue the query matches, a page at a time. Each is announced to the host
// before the rule looks at it: if the rule traps on one, the host runs it again
// without that issue.
function* eachIssue(query) {
  for (;;) {
    const page = issues(query);
    for (const issue of page.items) {
      deciding({ tag: "issue", val: issue.id });
      yield issue;
    }
    if (page.nextCursor === undefined) return;
    query = { ...query, cursor: page.nextCursor };
  }
}

// An issue's events, oldest first.
function* eachEvent(id) {
  let cursor;
  for (;;) {
    const page = issueEvents(id, 1000, cursor);
    yield* page.items;
    if (page.nextCursor === undefined) return;
    cursor = page.nextCursor;
  }
}

// Go's isDocumentationTitle.
export function isDocumentationTitle(title) {
  if (!title.includes("doc") && !title.includes("Doc")) return false;
  const t = title.toLowerCase();
  if (t.startsWith("x/pkgsite:") || t.startsWith("cmd/doc:") || t.startsWith("go/doc:")) {
    return false;
  }
  if (t.startsWith("doc:") || t.startsWith("docs:")) return true;
  if (t.includes("godoc:")) return false;
  return t.includes("document") || t.includes("docs ");
}

function labelDocumentationIssues() {
  const query = {
    repo: "golang/go",
    state: "open",
    labels: [],
    milestone: undefined,
    noMilestone: false,
    titlePrefix: undefined,
    updatedSince: undefined,
    pullRequests: false,
    limit: 1000,
    cursor: undefined,
  };
  const actions = [];
  for (const issue of eachIssue(query)) {
    if (!isDocumentationTitle(issue.title) || issue.labels.includes(LABEL)) continue;
    // A person removed a label once: never undo a human edit.
    let unlabeled = false;
    for (const e of eachEvent(issue.id)) {
      if (e.kind === "unlabeled") unlabeled = true;
    }
    if (unlabeled) continue;
    actions.push({
      kind: { tag: "add-label", val: [issue.id, LABEL] },
      reason: "a documentation title",
    });
  }
  return actions;
}

export const plugin = {
  describe() {
    return {
      name: "gopherbot-js",
      version: "0.1.0",
      kind: "gopherbot",
      summary: "1 rule of gopherbot in JavaScript (jco componentize)",
    };
  },
};

export const bot = {
  rules() {
    return [
      {
        name: RULE,
        description: "open documentation issues get Documentation, unless a label was ever removed",
        explicitOnly: false,
      },
    ];
  },
  // A thrown string is the rule's error (the `err` of its result).
  run(rule) {
    if (rule !== RULE) throw `unknown rule ${JSON.stringify(rule)}`;
    return labelDocumentationIssues();
  },
};
