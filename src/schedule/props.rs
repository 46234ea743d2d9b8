//! Properties over random schedules and instants, biased towards daylight saving changes
//! (including zones that change at midnight or by half an hour).

use super::tests::at;
use super::*;
use chrono::Timelike;
use proptest::prelude::*;

const ZONES: [Tz; 6] = [
    Tz::UTC,
    chrono_tz::Europe::Berlin,
    chrono_tz::America::New_York,
    chrono_tz::America::Santiago,
    chrono_tz::Australia::Lord_Howe,
    chrono_tz::Asia::Kolkata,
];

/// Local days of 2026 around which the zones above change their clocks.
const CHANGE_DAYS: [&str; 8] = [
    "2026-03-29T00:00:00Z",
    "2026-10-25T00:00:00Z",
    "2026-03-08T00:00:00Z",
    "2026-11-01T00:00:00Z",
    "2026-04-05T00:00:00Z",
    "2026-09-06T00:00:00Z",
    "2026-10-04T00:00:00Z",
    "2026-06-15T00:00:00Z",
];

fn schedules() -> impl Strategy<Value = Schedule> {
    let zone = prop::sample::select(&ZONES[..]);
    let days = prop::collection::vec(any::<bool>(), 7);
    // Range boundaries on a quarter-hour grid, 0 to 96 (24:00), paired in order; half of them
    // at midnight or in the small hours where clocks change, and repeats make ranges touch.
    let bound = prop_oneof![
        prop::sample::select(&[0u32, 4, 8, 9, 10, 12, 16, 92, 96][..]),
        0u32..=96,
    ];
    let bounds = prop::collection::vec(bound, 0..=6);
    let except = prop::collection::vec(-3i64..=3, 0..=3);
    (zone, days, bounds, except).prop_map(|(tz, days, bounds, except)| {
        let weekdays: Vec<Weekday> = (0..7u8)
            .filter(|d| days[usize::from(*d)])
            .filter_map(|d| Weekday::try_from(d).ok())
            .collect();
        let mut bounds = bounds;
        bounds.sort_unstable();
        let hours: Vec<HourRange> = bounds
            .chunks_exact(2)
            .filter_map(|pair| HourRange::new(pair[0] * 900, pair[1] * 900))
            .collect();
        let base = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap_or_default();
        let except: Vec<NaiveDate> = except
            .into_iter()
            .filter_map(|d| base.checked_add_signed(TimeDelta::days(d)))
            .collect();
        Schedule::new(tz, &weekdays, &hours, &except)
    })
}

/// An instant on whole seconds within three days of a change day, half of them within a day.
fn instants() -> impl Strategy<Value = DateTime<Utc>> {
    let day = prop::sample::select(&CHANGE_DAYS[..]);
    let offset = prop_oneof![-3 * 86_400i64..=3 * 86_400, -86_400i64..=86_400];
    (day, offset).prop_map(|(day, offset)| at(day) + TimeDelta::seconds(offset))
}

/// `count` points evenly spread over `[from, to)`, and the last second before `to`.
fn samples(from: DateTime<Utc>, to: DateTime<Utc>, count: i32) -> Vec<DateTime<Utc>> {
    let step = (to - from) / count;
    let mut points: Vec<_> = (0..count).map(|k| from + step * k).collect();
    points.push(to - TimeDelta::seconds(1));
    points
        .into_iter()
        .filter(|p| *p >= from && *p < to)
        .collect()
}

fn second() -> TimeDelta {
    TimeDelta::seconds(1)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn the_next_opening_is_open_and_nothing_before_it_is(s in schedules(), t in instants()) {
        match s.next_opening(t) {
            Some(opening) => {
                prop_assert!(opening >= t);
                prop_assert!(s.is_open(opening));
                for point in samples(t, opening, 50) {
                    prop_assert!(!s.is_open(point), "open at {point} before {opening}");
                }
            }
            None => {
                for day in 0..30 {
                    prop_assert!(!s.is_open(t + TimeDelta::days(day)));
                }
            }
        }
    }

    #[test]
    fn the_next_closing_is_closed_and_everything_before_it_open(s in schedules(), t in instants()) {
        let closing = s.next_closing(t);
        if !s.is_open(t) {
            prop_assert_eq!(closing, None);
        } else if let Some(closing) = closing {
            prop_assert!(closing > t);
            prop_assert!(!s.is_open(closing));
            for point in samples(t, closing, 50) {
                prop_assert!(s.is_open(point), "closed at {point} before {closing}");
            }
        }
    }

    #[test]
    fn is_open_agrees_with_the_open_time_of_the_next_second(s in schedules(), t in instants()) {
        let open_time = s.open_time_between(t, t + second());
        prop_assert_eq!(s.is_open(t), open_time > Duration::ZERO);
    }

    #[test]
    fn open_time_is_additive_and_never_more_than_the_span(
        s in schedules(),
        a in instants(),
        first in 0i64..=5 * 86_400,
        then in 0i64..=5 * 86_400,
    ) {
        let b = a + TimeDelta::seconds(first);
        let c = b + TimeDelta::seconds(then);
        let whole = s.open_time_between(a, c);
        prop_assert_eq!(whole, s.open_time_between(a, b) + s.open_time_between(b, c));
        prop_assert!(whole <= (c - a).to_std().unwrap_or_default());
    }

    #[test]
    fn outside_a_repeated_hour_open_means_the_wall_clock_reads_a_window(
        s in schedules(),
        t in instants(),
    ) {
        let local = t.with_timezone(&s.timezone).naive_local();
        let unambiguous = matches!(s.timezone.from_local_datetime(&local), LocalResult::Single(_));
        prop_assume!(unambiguous);
        let date = local.date();
        let seconds = local.time().num_seconds_from_midnight();
        let wall = s.days[date.weekday().num_days_from_monday() as usize]
            && !s.except.contains(&date)
            && s.hours.iter().any(|r| r.start() <= seconds && seconds < r.end());
        prop_assert_eq!(s.is_open(t), wall);
    }
}
