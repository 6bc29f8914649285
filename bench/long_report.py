"""The long-lived benchmark's report: the figures of `long.run`, as tables."""

from __future__ import annotations

from typing import Any

from . import long_core


def report(result: dict[str, Any]) -> list[str]:
    core, case, bare, replay = result["core"], result["case"], result["bare"], result["replay"]
    lines = [
        "Long-lived cases",
        "",
        "1. Case model per workflow task (pure core; thread CPU µs; median of the passes of",
        "   the rounds that reached each count; baseline: the same case at 10)",
        f"   {'task instances':>14} {'median':>7} {'p90':>7} {'x 10':>6}  "
        + " ".join(f"{p:>9}" for p in long_core.PARTS)
        + f"  {'no tidy':>8}",
    ]
    untidy = {r["instances"]: r for r in core["without_tidy"]}
    for row in core["rows"]:
        other = untidy.get(row["instances"])
        lines.append(
            f"   {row['instances']:>14,} {row['median']:>7.0f} {row['p90']:>7.0f} "
            f"{core['ratios_to_10'][row['instances']]:>6.2f}  "
            + " ".join(f"{row['parts_median'][p]:>9.0f}" for p in long_core.PARTS)
            + (f"  {other['median']:>8.0f}" if other else "")
        )
    end = core["at_end"]
    lines += [
        f"   1,000 / 10: x{core['ratio_1000_to_10']:.2f} (target: within x2); "
        f"without tidy x{core['without_tidy_ratio_1000_to_10']:.2f}",
        f"   at {end['task_instances']:,} instances the state holds {end['tasks_held']} tasks, "
        f"{end['log_held']} log entries, {end['request_ids_held']} request ids: "
        f"{end['state_json_bytes']:,} bytes (without tidy at 1,000: {end['untidy_tasks_held']} "
        f"tasks, {end['untidy_state_json_bytes']:,} bytes)",
        f"   request handlers: {core['handler_microseconds_per_request']:.0f} µs per request "
        f"({core['requests']:,} requests, {core['workflow_tasks']:,} workflow tasks, "
        f"{core['seconds']:.1f}s)",
        "",
        "2. History: a case kept busy with the default budget "
        f"({result['history_budget']:,} events)",
        f"   {case['requests']['updates']:,} updates + {case['requests']['signals']:,} signals "
        f"before the samples ({case['requests_per_second']}/s), {case['runs']} runs",
        f"   {'run':>4} {'events':>7} {'bytes':>9} {'start ev':>9} {'input':>8} "
        f"{'updates':>7} {'signals':>7}  ended by",
    ]
    for number, row in enumerate(case["per_run"], 1):
        lines.append(
            f"   {number:>4} {row['events']:>7,} {row['bytes']:>9,} {row['start_event_bytes']:>9,} "
            f"{row['input_bytes']:>8,} {row['updates_accepted']:>7,} {row['signals']:>7,}  "
            f"{row['ended_by']}"
        )
    ev, by, ci = (
        case["events_per_finished_run"],
        case["bytes_per_finished_run"],
        case["continue_input_bytes"],
    )
    if ev["count"]:
        lines.append(
            f"   finished runs: events {ev['min']:,}-{ev['max']:,} (median {ev['median']:,}); "
            f"bytes {by['min']:,}-{by['max']:,} (median {by['median']:,})"
        )
    if ci["count"]:
        lines.append(
            f"   continue-as-new input: {ci['min']:,}-{ci['max']:,} bytes "
            f"(median {ci['median']:,}); the last, by part: "
            + ", ".join(f"{k} {v:,}" for k, v in list(case["carried_parts_last"].items())[:6])
        )
    lines.append(
        "   bytes of the longest run by event type: "
        + ", ".join(
            f"{k} {v['bytes']:,} ({v['events']})"
            for k, v in case["bytes_by_event_type_longest"].items()
        )
    )
    lines += [
        "",
        "   Start event: before (whole type) -> now (carried form)",
        f"   {'type':<50} {'tasks':>5} {'before':>8} {'now':>8} {'ratio':>6} {'calendar':>8}",
    ]
    for row in result["start_events"]:
        lines.append(
            f"   {row['type']:<50} {row['tasks']:>5} {row['before_event_bytes']:>8,} "
            f"{row['now_event_bytes']:>8,} {row['ratio']:>6.3f} {row['now_calendar_bytes']:>8,}"
        )
    cl, bl = case["latency"], bare
    lines += [
        "",
        "3. Update latency, cached vs evicted (ms; median / max)",
        f"   {'':<34} {'cached':>15} {'evicted':>15} {'evicted/cached':>15}",
        f"   {'case (' + str(case['runs']) + ' runs)':<34} "
        f"{_ms(cl['cached'])} {_ms(cl['evicted'])} {cl['evicted_over_cached']:>15.1f}",
        f"   {'bare workflow (' + format(bl['events'], ',') + ' events, 1 run)':<34} "
        f"{_ms(bl['cached'])} {_ms(bl['evicted'])} {bl['evicted_over_cached']:>15.1f}",
        f"   the bare workflow took {bl['updates']:,} updates and {bl['signals']:,} signals "
        f"(Temporal refuses more than {bl['update_limit']:,} updates in one run)",
        f"   case / bare: cached x{result['ratios']['case_over_bare_cached']:.2f}, "
        f"evicted x{result['ratios']['case_over_bare_evicted']:.2f}",
        f"   events in the case's run at each eviction: {cl['run_events_at_eviction']}",
        f"   Replayer: longest case run ({replay['case_longest_run']['events']:,} events) "
        f"{replay['case_longest_run']['median'] * 1000:.0f} ms (max "
        f"{replay['case_longest_run']['max'] * 1000:.0f}, first "
        f"{replay['case_longest_run']['first'] * 1000:.0f}); bare workflow "
        f"({replay['bare']['events']:,} events) {replay['bare']['median'] * 1000:.0f} ms; "
        f"case / bare x{result['ratios']['replay_case_over_bare']:.2f}",
        f"   Replayer without the sandbox: case "
        f"{replay['case_longest_run_no_sandbox']['median'] * 1000:.0f} ms, bare "
        f"{replay['bare_no_sandbox']['median'] * 1000:.0f} ms",
        f"\nLong-lived benchmark took {result['seconds']:.0f}s",
    ]
    return lines


def _ms(figures: dict[str, Any]) -> str:
    return f"{figures['median'] * 1000:>7.0f} / {figures['max'] * 1000:>5.0f}"
