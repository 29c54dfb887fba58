//! Property tests: evaluation never panics and is deterministic; all-breaching data alarms;
//! the store's exact statistics match a naive recomputation and survive a snapshot.

use guardrail_metrics::*;
use proptest::prelude::*;

/// 2026-11-23T10:00:00Z
const T0: i64 = 1_795_428_000_000;

fn metric() -> MetricId {
    MetricId::new("Custom", "m", [("d", "v")]).unwrap()
}

fn arb_treat() -> impl Strategy<Value = TreatMissingData> {
    prop::sample::select(TreatMissingData::ALL.to_vec())
}

fn arb_state() -> impl Strategy<Value = StateValue> {
    prop::sample::select(vec![
        StateValue::Ok,
        StateValue::Alarm,
        StateValue::InsufficientData,
    ])
}

prop_compose! {
    /// Any definition, including invalid ones (M > N, period 0, NaN threshold, anomaly band).
    fn arb_def()(
        n in 0u32..7,
        m in prop::option::of(0u32..8),
        period_s in prop::sample::select(vec![0u32, 1, 7, 60, 3600]),
        threshold in prop_oneof![Just(f64::NAN), -5.0..5.0f64, Just(1.0)],
        comparison in prop::sample::select(ComparisonOperator::ALL.to_vec()),
        treat in arb_treat(),
        statistic in prop::sample::select(vec![Statistic::Sum, Statistic::Average, "p99".parse().unwrap(), "p10".parse().unwrap()]),
        low in prop::option::of(prop::sample::select(LowSampleCount::ALL.to_vec())),
    ) -> AlarmDefinition {
        let mut d = AlarmDefinition::new("a", metric(), statistic, period_s, n, threshold, comparison);
        d.datapoints_to_alarm = m;
        d.treat_missing_data = treat;
        d.evaluate_low_sample_count_percentile = low;
        d
    }
}

prop_compose! {
    fn arb_points()(raw in prop::collection::vec((-20i64..20, 0i64..3, prop_oneof![-3.0..8.0f64, Just(f64::NAN), Just(f64::INFINITY)], 0.0..3000.0f64), 0..12)) -> Vec<PeriodValue> {
        // Mostly aligned to 60 s, some misaligned or odd values.
        raw.into_iter().map(|(k, jitter, value, sample_count)| PeriodValue {
            timestamp: Timestamp::from_millis(T0 + k * 60_000 + jitter * 777),
            value,
            sample_count,
        }).collect()
    }
}

prop_compose! {
    fn arb_alarm_state()(value in arb_state(), overridden in prop::option::of(-100_000i64..100_000)) -> AlarmState {
        let mut s = AlarmState::initial(Timestamp::from_millis(T0 - 3_600_000));
        s.value = value;
        s.override_until = overridden.map(|o| Timestamp::from_millis(T0 + o));
        s
    }
}

fn arb_now() -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        8 => (-600_000i64..600_000).prop_map(|o| Timestamp::from_millis(T0 + o)),
        1 => prop::sample::select(vec![i64::MIN, i64::MIN + 1, -1, 0, i64::MAX]).prop_map(Timestamp::from_millis),
    ]
}

prop_compose! {
    /// N, M ≤ N, and at least M distinct periods of the N + 2 in the window.
    fn arb_breaching_window()(n in 1u32..8, m_frac in 0.0..1.0f64)(
        slots in prop::sample::subsequence((0..i64::from(n) + 2).collect::<Vec<_>>(), (1 + ((f64::from(n) * m_frac) as usize).min(n as usize - 1))..=(n as usize + 2)),
        n in Just(n),
        m in Just(1 + ((f64::from(n) * m_frac) as u32).min(n - 1)),
    ) -> (u32, u32, Vec<i64>) {
        (n, m, slots)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn evaluation_never_panics_and_is_deterministic(def in arb_def(), state in arb_alarm_state(), points in arb_points(), now in arb_now()) {
        let a = evaluate(&def, &state, points.as_slice(), now);
        let b = evaluate(&def, &state, points.as_slice(), now);
        prop_assert_eq!(&a, &b);
        // A new state is always a transition and always comes with its history item.
        match &a.new_state {
            Some(s) => {
                prop_assert_ne!(s.value, state.value);
                prop_assert_eq!(a.outcome, Outcome::Computed(s.value));
                let item = a.history_item.as_ref().unwrap();
                prop_assert!(serde_json::from_str::<serde_json::Value>(&item.data).is_ok());
                prop_assert!(serde_json::from_str::<serde_json::Value>(s.reason_data.as_deref().unwrap()).is_ok());
            }
            None => prop_assert!(a.history_item.is_none()),
        }
    }

    #[test]
    fn all_breaching_with_at_least_m_datapoints_always_alarms(
        (n, m, slots) in arb_breaching_window(),
        explicit_m in any::<bool>(),
        treat in arb_treat(),
        comparison in prop::sample::select(ComparisonOperator::ALL[..4].to_vec()),
        period_s in prop::sample::select(vec![1u32, 10, 60]),
        extra in 0.001..100.0f64,
        from in arb_state(),
        now_offset in 0i64..1000,
    ) {
        let r = i64::from(n) + 2;
        let threshold = 1.0;
        let value = match comparison {
            ComparisonOperator::GreaterThanThreshold | ComparisonOperator::GreaterThanOrEqualToThreshold => threshold + extra,
            _ => threshold - extra,
        };
        let mut def = AlarmDefinition::new("a", metric(), Statistic::Maximum, period_s, n, threshold, comparison);
        def.datapoints_to_alarm = explicit_m.then_some(m).or(if m == n { None } else { Some(m) });
        def.treat_missing_data = treat;
        let p = i64::from(period_s) * 1000;
        // The window is the R periods before T0 (T0 is aligned to every period used here).
        let points: Vec<PeriodValue> = slots.iter().map(|s| PeriodValue {
            timestamp: Timestamp::from_millis(T0 - (r - s) * p),
            value,
            sample_count: 1.0,
        }).collect();
        let mut state = AlarmState::initial(Timestamp::from_millis(0));
        state.value = from;
        let now = Timestamp::from_millis(T0 + now_offset.min(p - 1));
        let e = evaluate(&def, &state, points.as_slice(), now);
        prop_assert_eq!(e.outcome, Outcome::Computed(StateValue::Alarm));
    }

    #[test]
    fn store_statistics_match_a_naive_recomputation(
        samples in prop::collection::vec((0i64..600_000, -1000.0..1000.0f64), 1..200),
        period_s in prop::sample::select(vec![1u32, 7, 60, 300]),
    ) {
        let mut store = MetricStore::new(StoreConfig::default());
        let m = metric();
        for (offset, v) in &samples {
            store.record(&m, Timestamp::from_millis(T0 + offset), *v, Unit::None).unwrap();
        }
        let stats = [Statistic::SampleCount, Statistic::Sum, Statistic::Minimum, Statistic::Maximum];
        let start = Timestamp::from_millis(T0);
        let end = Timestamp::from_millis(T0 + 600_000);
        let dps = store.statistics(&m, start, end, period_s, &stats, None).unwrap();
        let p = i64::from(period_s) * 1000;
        let mut naive = std::collections::BTreeMap::<i64, (f64, f64, f64, f64)>::new();
        for (offset, v) in &samples {
            let key = T0 + offset - (T0 + offset).rem_euclid(p);
            let e = naive.entry(key).or_insert((0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY));
            *e = (e.0 + 1.0, e.1 + v, e.2.min(*v), e.3.max(*v));
        }
        prop_assert_eq!(dps.len(), naive.len());
        for d in &dps {
            let (count, sum, min, max) = naive[&d.timestamp.millis()];
            prop_assert_eq!(d.sample_count, Some(count));
            prop_assert!((d.sum.unwrap() - sum).abs() <= 1e-9 * (1.0 + sum.abs()) * count);
            prop_assert_eq!((d.minimum, d.maximum), (Some(min), Some(max)));
        }
        // The snapshot answers the same.
        let back = MetricStore::from_snapshot(store.to_snapshot()).unwrap();
        prop_assert_eq!(back.statistics(&m, start, end, period_s, &stats, None).unwrap(), dps);
    }

    #[test]
    fn memory_stays_within_the_caps(
        ops in prop::collection::vec((0usize..20, -4_000_000i64..4_000_000, 0.0..1e6f64), 1..400),
        prune_at in prop::option::of(0i64..20_000_000),
    ) {
        let limits = StoreLimits { max_series: 12, max_buckets: 300, max_bins: 500, max_bins_per_bucket: 16, ..StoreLimits::default() };
        let mut store = MetricStore::new(StoreConfig { limits, ..StoreConfig::default() });
        for (i, (name, offset, v)) in ops.iter().enumerate() {
            let id = MetricId::new("Custom", format!("m{name}"), [("d", "v")]).unwrap();
            let result = store.record(&id, Timestamp::from_millis(T0 + offset), *v, Unit::None);
            prop_assert!(result.is_ok() || result == Err(StoreError::SeriesLimit(12)));
            if prune_at.is_some() && i == ops.len() / 2 {
                store.prune(Timestamp::from_millis(T0 + prune_at.unwrap_or(0)));
            }
            let u = store.memory_usage();
            prop_assert!(u.series <= 12 && u.buckets <= 300 && u.bins <= 500, "{:?}", u);
        }
        prop_assert!(store.memory_usage().approx_bytes <= limits.max_memory_bytes(&store.config().retention));
    }
}
