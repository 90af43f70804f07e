#!/usr/bin/env python3
"""Grade the abuse desk on a set of messages it has not seen (not a test; never in CI).

  python3 bench/grade-desk.py [--bin .build/release/mailwarden] [--list] DIR

Each message is ingested alone into a fresh store with `mailwarden ingest --wait --json` and what
it became is compared with what it should have become:

* DIR/TRUTH.tsv present: reports. Tab-separated with a header line and the columns `path`
  (relative to DIR), `expected_abuse_type`, `expected_offending_ips` (comma-separated) and
  `expected_url` (comma-separated, any one suffices). Prints the share filed, the type right among
  those filed, the offending IPs found and the URLs found, over the reports whose offender is a
  public address; a report that names only non-public offenders (anonymised samples) is graded
  on opening no case on a non-public address (it waits in triage, or is filed on the domain it
  reports). URLs are compared as RFC 3986 makes them equal (no fragment, `/` for an empty path)
  and, since truth sets often lower-case them whole, without case; `&amp;` in a truth is `&`. A
  truth with no scheme (a host name, an address, `host/path`) can match no URL: it is graded
  apart, as found when the desk reports that host as a domain, an address or a URL's host. Truth
  sets write a network as its first address (`192.0.2.0` for `192.0.2.0/24`): such an address
  counts as found when the desk reports that network.
* otherwise: every file below DIR is a bounce or an automatic reply, and must be ignored. Prints
  how many were ignored, left in triage and filed (cases).

--list prints every message graded wrong, with what it became.
"""
import argparse, csv, ipaddress, json, os, subprocess, sys, tempfile


def ingest(binary, path):
    with tempfile.TemporaryDirectory() as work:
        config = os.path.join(work, "mw.conf")
        with open(config, "w") as f:
            f.write("store = %s/s.db\n" % work)
        with open(path, "rb") as message:
            done = subprocess.run([binary, "ingest", "--config", config, "--wait", "--json"],
                                  stdin=message, capture_output=True, timeout=60)
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        return {"status": "error", "reason": done.stderr.decode(errors="replace")[-200:]}


# Documentation ranges (RFC 5737, RFC 3849) stand for public addresses in samples.
DOCUMENTATION = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]


def is_public(text):
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return True
    documentation = any(ip.version == n.version and ip in n for n in DOCUMENTATION)
    return documentation or not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_unspecified)


def split(cell):
    return {v.strip() for v in cell.split(",") if v.strip()}


def percent(part, whole):
    return "%d/%d (%.1f %%)" % (part, whole, 100.0 * part / whole) if whole else "0/0"


def normal_url(url):
    """A URL as RFC 3986 section 6 makes it equal, lower-cased whole (as truth sets keep them)."""
    url = url.replace("&amp;", "&").split("#", 1)[0].lower()
    scheme, sep, rest = url.partition("://")
    if sep and "/" not in rest and "?" not in rest:
        url += "/"
    return url


def urls(row):
    return {normal_url(u) for u in split(row["expected_url"]) if "://" in u}


def hosts(row):
    """Truths without a scheme: host names, addresses, `host/path` without its path."""
    return {h.split("/", 1)[0].lower().rstrip(".") for h in split(row["expected_url"]) if "://" not in h}


def url_matches(row, result):
    return bool(urls(row) & {normal_url(u) for u in result.get("urls") or []})


def host_matches(row, result):
    found = {d.lower() for d in (result.get("domains") or []) + (result.get("ips") or [])}
    found |= {u.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0].split(":", 1)[0].lower() for u in result.get("urls") or [] if "://" in u}
    return bool(hosts(row) & found)


def found_ips(result):
    """The addresses the desk reported, and the first address of each network it reported."""
    return set(result.get("ips") or []) | {n.split("/", 1)[0] for n in result.get("networks") or []}


def is_public_subject(case):
    """A case's address or network is public (a network: none of its addresses is internal)."""
    if case.get("subject_kind") == "ip":
        return is_public(case.get("subject", ""))
    if case.get("subject_kind") == "network":
        network = ipaddress.ip_network(case.get("subject", ""), strict=False)
        return is_public(str(network.network_address)) and is_public(str(network.broadcast_address))
    return True


def grade_reports(binary, root, listing):
    rows = list(csv.DictReader(open(os.path.join(root, "TRUTH.tsv"), newline=""), delimiter="\t"))
    graded = [(row, ingest(binary, os.path.join(root, row["path"]))) for row in rows]
    private = [(r, j) for r, j in graded if split(r["expected_offending_ips"]) and not any(map(is_public, split(r["expected_offending_ips"])))]
    def no_private_case(j):
        return all(map(is_public_subject, j.get("cases") or []))
    held = [(r, j) for r, j in private if no_private_case(j)]
    public = [(r, j) for r, j in graded if (r, j) not in private]
    filed = [(r, j) for r, j in public if j.get("status") == "filed"]
    typed = [(r, j) for r, j in filed if (j.get("type") or "") == r["expected_abuse_type"].strip()]
    with_ip = [(r, j) for r, j in public if split(r["expected_offending_ips"])]
    ip_found = [(r, j) for r, j in with_ip if split(r["expected_offending_ips"]) <= found_ips(j)]
    with_url = [(r, j) for r, j in public if urls(r)]
    url_found = [(r, j) for r, j in with_url if url_matches(r, j)]
    with_host = [(r, j) for r, j in public if hosts(r)]
    host_found = [(r, j) for r, j in with_host if host_matches(r, j)]
    print("reports: %d, of which %d name only non-public offenders: no case on a non-public address %s" % (
        len(graded), len(private), percent(len(held), len(private))))
    print("public offenders: filed %s; type right %s; offending IPs found %s; URL found %s; bare host found %s" % (
        percent(len(filed), len(public)), percent(len(typed), len(filed)), percent(len(ip_found), len(with_ip)),
        percent(len(url_found), len(with_url)), percent(len(host_found), len(with_host))))
    if listing:
        for r, j in graded:
            wrong = []
            if (r, j) in private:
                if (r, j) not in held:
                    wrong.append("status %s (%s)" % (j.get("status"), j.get("reason")))
            else:
                if j.get("status") != "filed":
                    wrong.append("status %s (%s)" % (j.get("status"), j.get("reason")))
                elif (j.get("type") or "") != r["expected_abuse_type"].strip():
                    wrong.append("type %s, expected %s" % (j.get("type"), r["expected_abuse_type"]))
                if split(r["expected_offending_ips"]) - found_ips(j):
                    wrong.append("ips %s, expected %s" % (j.get("ips"), r["expected_offending_ips"]))
                if urls(r) and not url_matches(r, j):
                    wrong.append("urls %s" % (j.get("urls") or [])[:2])
                if hosts(r) and not host_matches(r, j):
                    wrong.append("host %s not in %s" % (sorted(hosts(r))[:2], (j.get("domains") or [])[:3]))
            if wrong:
                print("  %s [%s]: %s" % (r["path"], j.get("format"), "; ".join(wrong)))


def grade_bounces(binary, root, listing):
    paths = sorted(os.path.join(d, f) for d, _, files in os.walk(root) for f in files if not f.startswith("."))
    graded = [(p, ingest(binary, p)) for p in paths]
    counts = {}
    for _, j in graded:
        counts[j.get("status")] = counts.get(j.get("status"), 0) + 1
    print("bounces and automatic replies: %d; ignored %s; triage %d; filed (cases) %d; other %s" % (
        len(graded), percent(counts.get("ignored", 0), len(graded)), counts.get("triage", 0), counts.get("filed", 0),
        {k: v for k, v in counts.items() if k not in ("ignored", "triage", "filed")}))
    if listing:
        for p, j in graded:
            if j.get("status") != "ignored":
                print("  %s: %s [%s] %s %s" % (os.path.relpath(p, root), j.get("status"), j.get("format"), j.get("reason") or "",
                                               [c["subject"] for c in j.get("cases") or []]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=".build/release/mailwarden")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("dir")
    args = parser.parse_args()
    if os.path.exists(os.path.join(args.dir, "TRUTH.tsv")):
        grade_reports(args.bin, args.dir, args.list)
    else:
        grade_bounces(args.bin, args.dir, args.list)


if __name__ == "__main__":
    sys.exit(main())
