//! Alarm operations: every change is written to the store (document + history) first, then
//! applied in memory, then announced to the controller.

use guardrail_core::time::Timestamp;
use guardrail_metrics::{
    configuration_update, evaluate, evaluate_composite, evaluate_math, set_alarm_state,
    AlarmDefinition, AlarmError, AlarmState, ChildState, ConfigChange, HistoryItem, MathAlarm,
    Rule, StateValue,
};
use guardrail_store::{AlarmHistoryQuery, AlarmHistoryRow, StoreError};

use crate::alarms::{plain_configuration_update, AlarmDoc};
use crate::{Inner, Monitor, MonitorError};

/// A PutMetricAlarm as the API layer validated it.
#[derive(Clone, Debug)]
pub struct AlarmConfig {
    pub name: String,
    pub config: serde_json::Value,
    pub definition: Option<AlarmDefinition>,
    /// A metric-math alarm's queries (`definition` then holds thresholds, N, M, period).
    pub math: Option<MathAlarm>,
    /// A composite alarm's `AlarmRule`.
    pub composite: Option<String>,
    pub actions_enabled: bool,
}

impl Monitor {
    /// Creates or fully replaces an alarm (a replaced alarm keeps its state), then evaluates
    /// it at once. Returns whether it was created.
    pub async fn put_alarm(&self, cfg: AlarmConfig) -> Result<bool, MonitorError> {
        let inner = &self.inner;
        let _serial = inner.mutation.lock().await;
        let now = inner.clock.now();
        let existing = inner.alarms.lock().get(&cfg.name).cloned();
        if existing.is_none() && inner.alarms.lock().len() >= inner.config.max_alarms {
            return Err(MonitorError::TooManyAlarms(inner.config.max_alarms));
        }
        let created = existing.is_none();
        let doc = AlarmDoc {
            name: cfg.name.clone(),
            config: cfg.config,
            definition: cfg.definition,
            math: cfg.math,
            composite: cfg.composite,
            actions_enabled: cfg.actions_enabled,
            state: existing
                .as_ref()
                .map_or_else(|| AlarmState::initial(now), |e| e.state.clone()),
            config_updated: now,
            last_alarm: existing.and_then(|e| e.last_alarm),
        };
        let change = if created {
            ConfigChange::Created
        } else {
            ConfigChange::Updated
        };
        let item = match &doc.definition {
            Some(def) if doc.math.is_none() => configuration_update(def, change, now),
            _ => {
                let (verb, kind) = if created {
                    ("created", "Create")
                } else {
                    ("updated", "Update")
                };
                plain_configuration_update(&doc.name, verb, kind, &doc.config, now)
            }
        };
        persist(inner, vec![doc.clone()], vec![item]).await?;
        inner.alarms.lock().insert(doc.name.clone(), doc);
        evaluate_locked(inner, now, Some(&cfg.name)).await?;
        inner.notify();
        Ok(created)
    }

    /// Deletes the named alarms that exist (others are skipped); returns the deleted names.
    pub async fn delete_alarms(&self, names: &[String]) -> Result<Vec<String>, MonitorError> {
        let inner = &self.inner;
        let _serial = inner.mutation.lock().await;
        let now = inner.clock.now();
        let docs: Vec<AlarmDoc> = {
            let alarms = inner.alarms.lock();
            names
                .iter()
                .filter_map(|n| alarms.get(n).cloned())
                .collect()
        };
        if docs.is_empty() {
            return Ok(Vec::new());
        }
        let items: Vec<HistoryItem> = docs
            .iter()
            .map(|d| match &d.definition {
                Some(def) if d.math.is_none() => {
                    configuration_update(def, ConfigChange::Deleted, now)
                }
                _ => plain_configuration_update(&d.name, "deleted", "Delete", &d.config, now),
            })
            .collect();
        let deleted: Vec<String> = docs.iter().map(|d| d.name.clone()).collect();
        let to_delete = deleted.clone();
        inner
            .store
            .write(move |tx| {
                for name in &to_delete {
                    tx.delete_alarm(name)?;
                }
                append_history(tx, &items)
            })
            .await?;
        {
            let mut alarms = inner.alarms.lock();
            for n in &deleted {
                alarms.remove(n);
            }
        }
        inner.notify();
        Ok(deleted)
    }

    /// SetAlarmState: holds until the first evaluation at or after now + Period.
    pub async fn set_alarm_state(
        &self,
        name: &str,
        value: StateValue,
        reason: &str,
        reason_data: Option<&str>,
    ) -> Result<(), MonitorError> {
        let inner = &self.inner;
        let _serial = inner.mutation.lock().await;
        let now = inner.clock.now();
        let Some(mut doc) = inner.alarms.lock().get(name).cloned() else {
            return Err(MonitorError::AlarmNotFound(name.to_owned()));
        };
        // Alarms that are not evaluated still take SetAlarmState (period 1 s for the hold).
        let def = doc
            .definition
            .clone()
            .unwrap_or_else(|| placeholder_definition(name));
        let eval = set_alarm_state(&def, &doc.state, value, reason, reason_data, now).map_err(
            |e| match e {
                AlarmError::InvalidReasonData => MonitorError::InvalidReasonData,
                other => MonitorError::InvalidMetricData(other.to_string()),
            },
        )?;
        let Some(state) = eval.new_state else {
            return Ok(());
        };
        doc.set_state(state);
        persist(
            inner,
            vec![doc.clone()],
            eval.history_item.into_iter().collect(),
        )
        .await?;
        inner.alarms.lock().insert(doc.name.clone(), doc);
        inner.telemetry.alarm_state_set(value);
        inner.notify();
        Ok(())
    }

    /// Enable/DisableAlarmActions: flips `ActionsEnabled` of the named alarms that exist.
    pub async fn set_actions_enabled(
        &self,
        names: &[String],
        enabled: bool,
    ) -> Result<(), MonitorError> {
        let inner = &self.inner;
        let _serial = inner.mutation.lock().await;
        let docs: Vec<AlarmDoc> = {
            let alarms = inner.alarms.lock();
            names
                .iter()
                .filter_map(|n| alarms.get(n).cloned())
                .map(|mut d| {
                    d.actions_enabled = enabled;
                    if let Some(def) = &mut d.definition {
                        def.actions_enabled = enabled;
                    }
                    d
                })
                .collect()
        };
        persist(inner, docs.clone(), Vec::new()).await?;
        let mut alarms = inner.alarms.lock();
        for d in docs {
            alarms.insert(d.name.clone(), d);
        }
        Ok(())
    }

    /// Every alarm, sorted by name.
    pub fn alarms(&self) -> Vec<AlarmDoc> {
        self.inner.alarms.lock().values().cloned().collect()
    }

    pub fn alarm_exists(&self, name: &str) -> bool {
        self.inner.alarms.lock().contains_key(name)
    }

    pub fn alarm_count(&self) -> usize {
        self.inner.alarms.lock().len()
    }

    pub async fn alarm_history(
        &self,
        q: AlarmHistoryQuery,
    ) -> Result<Vec<AlarmHistoryRow>, MonitorError> {
        Ok(self
            .inner
            .store
            .read(move |tx| tx.alarm_history(&q))
            .await?)
    }
}

/// For SetAlarmState on an alarm Guardrail does not evaluate.
fn placeholder_definition(name: &str) -> AlarmDefinition {
    let metric = guardrail_metrics::MetricId::new(
        "Guardrail",
        "Unevaluated",
        Vec::<(String, String)>::new(),
    )
    .expect("constant metric id is valid");
    AlarmDefinition::new(
        name,
        metric,
        guardrail_metrics::Statistic::Sum,
        1,
        1,
        0.0,
        guardrail_metrics::ComparisonOperator::GreaterThanThreshold,
    )
}

fn append_history(tx: &guardrail_store::Tx<'_>, items: &[HistoryItem]) -> Result<(), StoreError> {
    for i in items {
        tx.append_alarm_history(
            &i.alarm_name,
            i.timestamp,
            i.item_type.as_str(),
            &i.summary,
            &i.data,
        )?;
    }
    Ok(())
}

/// Writes alarm documents and history items in one transaction.
pub(crate) async fn persist(
    inner: &Inner,
    docs: Vec<AlarmDoc>,
    items: Vec<HistoryItem>,
) -> Result<(), MonitorError> {
    let docs: Vec<(String, serde_json::Value)> = docs
        .into_iter()
        .map(|d| Ok((d.name.clone(), serde_json::to_value(&d)?)))
        .collect::<Result<_, serde_json::Error>>()
        .map_err(StoreError::from)?;
    inner
        .store
        .write(move |tx| {
            for (name, doc) in &docs {
                tx.put_alarm(name, doc)?;
            }
            append_history(tx, &items)
        })
        .await?;
    Ok(())
}

/// Evaluates every alarm (or just `only`) at `now`; persists and applies transitions.
/// The caller holds `mutation`. Returns how many alarms changed state.
pub(crate) async fn evaluate_locked(
    inner: &Inner,
    now: Timestamp,
    only: Option<&str>,
) -> Result<usize, MonitorError> {
    let candidates: Vec<AlarmDoc> = {
        let alarms = inner.alarms.lock();
        match only {
            Some(n) => alarms.get(n).cloned().into_iter().collect(),
            None => alarms.values().cloned().collect(),
        }
    };
    let mut changed = Vec::new();
    let mut items = Vec::new();
    let mut evaluated = 0u64;
    {
        let metrics = inner.metrics.lock();
        for mut doc in candidates.iter().filter(|d| !d.is_composite()).cloned() {
            let Some(def) = &doc.definition else {
                continue;
            };
            evaluated += 1;
            let eval = match &doc.math {
                Some(math) => evaluate_math(def, math, &doc.state, &metrics, now),
                None => evaluate(def, &doc.state, &*metrics, now),
            };
            if let Some(state) = eval.new_state {
                doc.set_state(state);
                items.extend(eval.history_item);
                changed.push(doc);
            }
        }
    }
    // Composite alarms, after the metric alarms of the same tick: each pass sees the states
    // the previous one produced, so a composite over composites settles children first.
    let mut composites: Vec<AlarmDoc> = candidates
        .iter()
        .filter(|d| d.is_composite())
        .cloned()
        .collect();
    if !composites.is_empty() {
        let mut states: std::collections::HashMap<String, ChildState> = {
            let alarms = inner.alarms.lock();
            alarms
                .values()
                .map(|d| {
                    (
                        d.name.clone(),
                        ChildState {
                            name: d.name.clone(),
                            value: d.state.value,
                            transitioned_at: d.state.transitioned_at,
                        },
                    )
                })
                .collect()
        };
        for d in &changed {
            states.insert(
                d.name.clone(),
                ChildState {
                    name: d.name.clone(),
                    value: d.state.value,
                    transitioned_at: d.state.transitioned_at,
                },
            );
        }
        for _ in 0..=composites.len() {
            let mut any = false;
            for doc in composites.iter_mut() {
                let Some(rule) = doc.composite.as_deref().and_then(|r| Rule::parse(r).ok()) else {
                    continue;
                };
                evaluated += 1;
                let children: Vec<ChildState> = rule
                    .names()
                    .iter()
                    .filter_map(|n| states.get(*n).cloned())
                    .collect();
                let eval = evaluate_composite(&doc.name, &rule, &doc.state, &children, now);
                if let Some(state) = eval.new_state {
                    doc.set_state(state);
                    items.extend(eval.history_item);
                    states.insert(
                        doc.name.clone(),
                        ChildState {
                            name: doc.name.clone(),
                            value: doc.state.value,
                            transitioned_at: doc.state.transitioned_at,
                        },
                    );
                    changed.retain(|c| c.name != doc.name);
                    changed.push(doc.clone());
                    any = true;
                }
            }
            if !any {
                break;
            }
        }
    }
    inner.telemetry.alarm_evaluations(evaluated);
    if changed.is_empty() {
        return Ok(0);
    }
    for d in &changed {
        inner.telemetry.alarm_transition(d.state.value);
        tracing::info!(alarm = %d.name, state = %d.state.value, reason = %d.state.reason, "alarm state changed");
    }
    let n = changed.len();
    persist(inner, changed.clone(), items).await?;
    let mut alarms = inner.alarms.lock();
    for d in changed {
        // Deleted meanwhile? Cannot be: deletion takes `mutation` too.
        alarms.insert(d.name.clone(), d);
    }
    Ok(n)
}
