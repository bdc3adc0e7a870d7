//! The `Date` header of responses the listener writes itself (RFC 9110 §6.6.1: an origin
//! server with a clock sends it), in the IMF-fixdate form hyper writes on the responses it
//! serves: `Sun, 06 Nov 1994 08:49:37 GMT`. Formatted at most once a second per thread.

use http::HeaderValue;
use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

thread_local! {
    /// The second last formatted, and its header value.
    static CACHE: RefCell<Option<(u64, HeaderValue)>> = const { RefCell::new(None) };
}

/// Now, as a `Date` header value.
pub(crate) fn now() -> HeaderValue {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        match &*cache {
            Some((at, value)) if *at == secs => value.clone(),
            _ => {
                let value = HeaderValue::from_str(&format(secs))
                    .expect("an IMF-fixdate is a valid header value");
                *cache = Some((secs, value.clone()));
                value
            }
        }
    })
}

/// `secs` after the Unix epoch as an IMF-fixdate.
fn format(secs: u64) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let time = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{}, {day:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        time / 3600,
        time / 60 % 60,
        time % 60,
    )
}

/// The proleptic Gregorian date (year, month 1-12, day 1-31) `days` after 1970-01-01
/// (Howard Hinnant's `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_imf_fixdate() {
        assert_eq!(format(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        // RFC 9110's example.
        assert_eq!(format(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        // (Expected values from `date -u -d @SECS`.) A leap day in a year divisible by 400,
        // and the day after.
        assert_eq!(format(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(format(951_868_799), "Tue, 29 Feb 2000 23:59:59 GMT");
        assert_eq!(format(951_868_800), "Wed, 01 Mar 2000 00:00:00 GMT");
        // Not a leap year (divisible by 100, not by 400).
        assert_eq!(format(4_107_542_400), "Mon, 01 Mar 2100 00:00:00 GMT");
        assert_eq!(format(1_795_838_968), "Sat, 28 Nov 2026 04:09:28 GMT");
    }

    #[test]
    fn now_is_a_date_of_this_form() {
        let value = now();
        let text = value.to_str().unwrap();
        assert_eq!(text.len(), 29, "{text}");
        assert!(text.ends_with(" GMT"), "{text}");
    }
}
