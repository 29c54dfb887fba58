"""ListModels / ListEndpointConfigs / ListEndpoints: pagination, sorting, filters
(docs/sagemaker-api.md#pagination, #message-catalogue "Invalid pagination token.")."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from support import (
    Factory,
    constraint_msg,
    enum_values_in,
    expect_error,
    unique,
    variant,
    wait_endpoint_status,
)

# (operation, result key, name key, factory method) for the two cheap resource kinds
KINDS = {
    "models": ("list_models", "Models", "ModelName"),
    "configs": ("list_endpoint_configs", "EndpointConfigs", "EndpointConfigName"),
}


def _create(factory, kind: str, name: str) -> None:
    if kind == "models":
        factory.model(name)
    else:
        factory.config(name, model=_shared_model(factory))


def _shared_model(factory) -> str:
    if not getattr(factory, "_pagination_model", None):
        factory._pagination_model = factory.model()
    return factory._pagination_model


def _make_series(factory, kind: str, n: int, prefix: str | None = None) -> tuple[str, list[str]]:
    """n resources named <prefix>-00.. in creation order, with distinct creation times."""
    prefix = prefix or unique("pg")
    names = []
    for i in range(n):
        name = f"{prefix}-{i:02d}"
        _create(factory, kind, name)
        names.append(name)
        time.sleep(0.005)  # distinct millisecond timestamps; not waiting for any state
    return prefix, names


def _pages(sm, op: str, key: str, name_key: str, **kwargs) -> list[list[str]]:
    pages, token = [], None
    for _ in range(100):
        args = dict(kwargs)
        if token:
            args["NextToken"] = token
        resp = getattr(sm, op)(**args)
        pages.append([item[name_key] for item in resp[key]])
        token = resp.get("NextToken")
        if not token:
            assert "NextToken" not in resp, "NextToken must be omitted, not empty"
            return pages
        assert isinstance(token, str) and 0 < len(token) <= 8192
    raise AssertionError("pagination did not terminate")


@pytest.fixture(params=sorted(KINDS))
def kind(request):
    return request.param


# --- paging -----------------------------------------------------------------------------------


def test_default_order_is_creation_time_descending(sm, factory, kind):
    op, key, name_key = KINDS[kind]
    prefix, names = _make_series(factory, kind, 5)
    resp = getattr(sm, op)(NameContains=prefix)
    assert [i[name_key] for i in resp[key]] == list(reversed(names))


def test_pages_and_next_token(sm, factory, kind):
    op, key, name_key = KINDS[kind]
    prefix, names = _make_series(factory, kind, 7)
    pages = _pages(sm, op, key, name_key, NameContains=prefix, MaxResults=3,
                   SortBy="CreationTime", SortOrder="Ascending")
    assert pages == [names[0:3], names[3:6], names[6:7]]


def test_exactly_full_last_page_has_no_token(sm, factory, kind):
    op, key, name_key = KINDS[kind]
    prefix, names = _make_series(factory, kind, 4)
    pages = _pages(sm, op, key, name_key, NameContains=prefix, MaxResults=2, SortBy="Name", SortOrder="Ascending")
    assert pages == [names[0:2], names[2:4]]


def test_default_max_results_is_ten(sm, factory):
    prefix, names = _make_series(factory, "models", 12)
    resp = sm.list_models(NameContains=prefix, SortBy="Name", SortOrder="Ascending")
    assert [m["ModelName"] for m in resp["Models"]] == names[:10]
    assert resp.get("NextToken")
    resp = sm.list_models(NameContains=prefix, SortBy="Name", SortOrder="Ascending", NextToken=resp["NextToken"])
    assert [m["ModelName"] for m in resp["Models"]] == names[10:]
    assert "NextToken" not in resp


def test_max_results_100(sm, factory):
    prefix, names = _make_series(factory, "models", 3)
    resp = sm.list_models(NameContains=prefix, MaxResults=100)
    assert len(resp["Models"]) == 3


def test_botocore_paginator(sm, factory, kind):
    op, key, name_key = KINDS[kind]
    prefix, names = _make_series(factory, kind, 5)
    got = []
    pages = 0
    for page in sm.get_paginator(op).paginate(NameContains=prefix, SortBy="Name", SortOrder="Descending",
                                               PaginationConfig={"PageSize": 2}):
        pages += 1
        got.extend(item[name_key] for item in page[key])
    assert got == sorted(names, reverse=True)
    assert pages == 3


def test_sort_by_name(sm, factory, kind):
    op, key, name_key = KINDS[kind]
    prefix = unique("pgsort")
    # created in an order that differs from name order
    order = ["c", "a", "d", "b"]
    for suffix in order:
        _create(factory, kind, f"{prefix}-{suffix}")
        time.sleep(0.005)
    asc = [i[name_key] for i in getattr(sm, op)(NameContains=prefix, SortBy="Name", SortOrder="Ascending")[key]]
    assert asc == [f"{prefix}-{s}" for s in "abcd"]
    desc = [i[name_key] for i in getattr(sm, op)(NameContains=prefix, SortBy="Name", SortOrder="Descending")[key]]
    assert desc == [f"{prefix}-{s}" for s in "dcba"]
    by_time = [i[name_key] for i in getattr(sm, op)(NameContains=prefix, SortBy="CreationTime",
                                                    SortOrder="Ascending")[key]]
    assert by_time == [f"{prefix}-{s}" for s in order]


def test_items_created_meanwhile_cause_no_repeats(sm, factory):
    prefix, names = _make_series(factory, "models", 4)
    first = sm.list_models(NameContains=prefix, SortBy="Name", SortOrder="Ascending", MaxResults=2)
    assert [m["ModelName"] for m in first["Models"]] == names[:2]
    # a name that sorts before everything already returned
    factory.model(f"{prefix}-00a")
    rest = _pages(sm, "list_models", "Models", "ModelName", NameContains=prefix, SortBy="Name",
                  SortOrder="Ascending", MaxResults=2, NextToken=first["NextToken"])
    seen = [m["ModelName"] for m in first["Models"]] + [n for page in rest for n in page]
    assert len(seen) == len(set(seen)), f"repeated items: {seen}"
    assert set(names) <= set(seen)


# --- filters ----------------------------------------------------------------------------------


def test_name_contains_is_case_insensitive_substring(sm, factory, kind):
    op, key, name_key = KINDS[kind]
    prefix, names = _make_series(factory, kind, 3)
    middle = prefix[2:]  # a substring, not a prefix
    got = {i[name_key] for i in getattr(sm, op)(NameContains=middle.upper(), MaxResults=100)[key]}
    assert set(names) <= got
    assert all(middle in n.lower() for n in got)
    got = [i[name_key] for i in getattr(sm, op)(NameContains=f"{prefix}-01")[key]]
    assert got == [names[1]]
    assert getattr(sm, op)(NameContains=unique("nomatch"))[key] == []


def test_creation_time_filters(sm, factory, kind):
    op, key, name_key = KINDS[kind]
    prefix, names = _make_series(factory, kind, 4)
    items = getattr(sm, op)(NameContains=prefix, SortBy="CreationTime", SortOrder="Ascending")[key]
    times = [i["CreationTime"] for i in items]
    assert [i[name_key] for i in items] == names
    assert times == sorted(times) and len(set(times)) == 4
    pivot = times[2]
    # ...Before is strict <, ...After is >=
    before = [i[name_key] for i in getattr(sm, op)(NameContains=prefix, CreationTimeBefore=pivot,
                                                   SortBy="Name", SortOrder="Ascending")[key]]
    after = [i[name_key] for i in getattr(sm, op)(NameContains=prefix, CreationTimeAfter=pivot,
                                                  SortBy="Name", SortOrder="Ascending")[key]]
    assert before == names[:2]
    assert after == names[2:]
    both = [i[name_key] for i in getattr(sm, op)(NameContains=prefix, CreationTimeAfter=times[1],
                                                 CreationTimeBefore=times[3], SortBy="Name",
                                                 SortOrder="Ascending")[key]]
    assert both == names[1:3]
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    assert getattr(sm, op)(NameContains=prefix, CreationTimeAfter=future)[key] == []


# --- ListEndpoints ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def endpoints_series(sm):
    """Three endpoints: <p>-a and <p>-c InService, <p>-b Creating (slow to start)."""
    f = Factory(sm)
    prefix = unique("pgep")
    fast = f.model()
    slow = f.model(env={"STARTUP_DELAY_S": "120"})
    cfg_fast = f.config(variants=[variant(fast)])
    cfg_slow = f.config(variants=[variant(slow)])
    names = {}
    for suffix, cfg in (("a", cfg_fast), ("b", cfg_slow), ("c", cfg_fast)):
        names[suffix] = f.endpoint(f"{prefix}-{suffix}", config=cfg, wait=False)
        time.sleep(0.005)
    wait_endpoint_status(sm, names["a"], "InService")
    wait_endpoint_status(sm, names["c"], "InService")
    yield prefix, names
    f.cleanup()


def test_list_endpoints_sort_and_pages(sm, endpoints_series):
    prefix, names = endpoints_series
    pages = _pages(sm, "list_endpoints", "Endpoints", "EndpointName", NameContains=prefix, MaxResults=2,
                   SortBy="Name", SortOrder="Ascending")
    assert pages == [[names["a"], names["b"]], [names["c"]]]
    default = [e["EndpointName"] for e in sm.list_endpoints(NameContains=prefix)["Endpoints"]]
    assert default == [names["c"], names["b"], names["a"]]


def test_list_endpoints_status_filter_and_sort(sm, endpoints_series):
    prefix, names = endpoints_series
    assert sm.describe_endpoint(EndpointName=names["b"])["EndpointStatus"] == "Creating"
    creating = sm.list_endpoints(NameContains=prefix, StatusEquals="Creating")["Endpoints"]
    assert [e["EndpointName"] for e in creating] == [names["b"]]
    assert creating[0]["EndpointStatus"] == "Creating"
    in_service = sm.list_endpoints(NameContains=prefix, StatusEquals="InService", SortBy="Name",
                                   SortOrder="Ascending")["Endpoints"]
    assert [e["EndpointName"] for e in in_service] == [names["a"], names["c"]]
    assert sm.list_endpoints(NameContains=prefix, StatusEquals="Failed")["Endpoints"] == []

    asc = [e["EndpointName"] for e in sm.list_endpoints(NameContains=prefix, SortBy="Status",
                                                        SortOrder="Ascending")["Endpoints"]]
    # Creating < InService; ties broken by name
    assert asc == [names["b"], names["a"], names["c"]]
    desc = [e["EndpointName"] for e in sm.list_endpoints(NameContains=prefix, SortBy="Status",
                                                         SortOrder="Descending")["Endpoints"]]
    assert set(desc[:2]) == {names["a"], names["c"]} and desc[2] == names["b"]


def test_list_endpoints_time_filters(sm, endpoints_series):
    prefix, names = endpoints_series
    items = sm.list_endpoints(NameContains=prefix, SortBy="CreationTime", SortOrder="Ascending")["Endpoints"]
    assert [e["EndpointName"] for e in items] == [names["a"], names["b"], names["c"]]
    pivot = items[1]["CreationTime"]
    before = [e["EndpointName"] for e in sm.list_endpoints(NameContains=prefix, CreationTimeBefore=pivot,
                                                           SortBy="Name", SortOrder="Ascending")["Endpoints"]]
    assert before == [names["a"]]
    after = [e["EndpointName"] for e in sm.list_endpoints(NameContains=prefix, CreationTimeAfter=pivot,
                                                          SortBy="Name", SortOrder="Ascending")["Endpoints"]]
    assert after == [names["b"], names["c"]]
    past = dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc)
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    assert len(sm.list_endpoints(NameContains=prefix, LastModifiedTimeAfter=past)["Endpoints"]) == 3
    assert len(sm.list_endpoints(NameContains=prefix, LastModifiedTimeBefore=future)["Endpoints"]) == 3
    assert sm.list_endpoints(NameContains=prefix, LastModifiedTimeAfter=future)["Endpoints"] == []
    assert sm.list_endpoints(NameContains=prefix, LastModifiedTimeBefore=past)["Endpoints"] == []


def test_list_endpoints_paginator(sm, endpoints_series):
    prefix, names = endpoints_series
    got = []
    for page in sm.get_paginator("list_endpoints").paginate(NameContains=prefix,
                                                            PaginationConfig={"PageSize": 1}):
        got.extend(e["EndpointName"] for e in page["Endpoints"])
    assert got == [names["c"], names["b"], names["a"]]


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["list_models", "list_endpoint_configs", "list_endpoints"])
def test_invalid_next_token(sm, op):
    expect_error(getattr(sm, op), "ValidationException", message="Invalid pagination token.",
                 NextToken="not-a-real-token")


def test_token_from_another_operation(sm, factory):
    prefix, _ = _make_series(factory, "models", 3)
    token = sm.list_models(NameContains=prefix, MaxResults=1)["NextToken"]
    expect_error(sm.list_endpoint_configs, "ValidationException", message="Invalid pagination token.",
                 NextToken=token)
    expect_error(sm.list_endpoints, "ValidationException", message="Invalid pagination token.",
                 NextToken=token)


def test_token_from_another_query(sm, factory):
    prefix, _ = _make_series(factory, "models", 3)
    token = sm.list_models(NameContains=prefix, MaxResults=1, SortBy="Name")["NextToken"]
    expect_error(sm.list_models, "ValidationException", message="Invalid pagination token.",
                 NameContains=prefix, MaxResults=1, SortBy="CreationTime", NextToken=token)


@pytest.mark.parametrize("op,values", [
    ("list_models", {"Name", "CreationTime"}),
    ("list_endpoint_configs", {"Name", "CreationTime"}),
    ("list_endpoints", {"Name", "CreationTime", "Status"}),
])
@pytest.mark.parametrize("bad", ["name", "NAME", "Status-"])
def test_sort_by_enum_is_case_sensitive(sm, op, values, bad):
    if op != "list_endpoints" and bad == "Status-":
        bad = "Status"  # valid only for endpoints
    exc = expect_error(getattr(sm, op), "ValidationException",
                       prefix=f"1 validation error detected: Value '{bad}' at 'sortBy' failed to satisfy "
                              "constraint: Member must satisfy enum value set: [",
                       SortBy=bad)
    assert enum_values_in(exc.response["Error"]["Message"]) == values


def test_sort_order_enum(sm):
    exc = expect_error(sm.list_models, "ValidationException",
                       prefix="1 validation error detected: Value 'ascending' at 'sortOrder' failed to "
                              "satisfy constraint: Member must satisfy enum value set: [",
                       SortOrder="ascending")
    assert enum_values_in(exc.response["Error"]["Message"]) == {"Ascending", "Descending"}


def test_status_equals_enum(sm):
    exc = expect_error(sm.list_endpoints, "ValidationException",
                       prefix="1 validation error detected: Value 'inservice' at 'statusEquals' failed to "
                              "satisfy constraint: Member must satisfy enum value set: [",
                       StatusEquals="inservice")
    assert "InService" in enum_values_in(exc.response["Error"]["Message"])


@pytest.mark.parametrize("op", ["list_models", "list_endpoint_configs", "list_endpoints"])
def test_max_results_over_100(sm, op):
    expect_error(getattr(sm, op), "ValidationException",
                 message=constraint_msg("101", "maxResults", "Member must have value less than or equal to 100"),
                 MaxResults=101)


def test_max_results_zero_server_side(sm_novalidate):
    expect_error(sm_novalidate.list_models, "ValidationException",
                 message=constraint_msg("0", "maxResults", "Member must have value greater than or equal to 1"),
                 MaxResults=0)


@pytest.mark.parametrize("op", ["list_models", "list_endpoint_configs", "list_endpoints"])
def test_name_contains_pattern(sm, op):
    expect_error(getattr(sm, op), "ValidationException",
                 message=constraint_msg("'bad_name'", "nameContains",
                                        "Member must satisfy regular expression pattern: [a-zA-Z0-9-]+"),
                 NameContains="bad_name")
