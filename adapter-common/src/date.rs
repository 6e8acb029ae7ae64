//! The `Date` header (RFC 9110 §6.6.1: an origin server with a clock MUST
//! send it), formatted as IMF-fixdate and cached per thread for one second.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

/// `Sun, 06 Nov 1994 08:49:37 GMT`
pub const DATE_LEN: usize = 29;

/// The last second representable with a four-digit year (9999-12-31T23:59:59Z).
const MAX_SECS: u64 = 253_402_300_799;

const WEEKDAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// (year, month 1..=12, day 1..=31) of the `days`-th day after 1970-01-01
/// (H. Hinnant's `civil_from_days`, for non-negative day counts).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

fn two_digits(out: &mut [u8], v: u64) {
    // `v % 10 < 10`, so the narrowing is exact.
    out[0] = b'0' + ((v / 10) % 10) as u8;
    out[1] = b'0' + (v % 10) as u8;
}

/// Formats `secs` since the Unix epoch as an IMF-fixdate (RFC 9110 §5.6.7).
pub fn format_imf_fixdate(secs: u64) -> [u8; DATE_LEN] {
    let secs = secs.min(MAX_SECS);
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    // Both indexes are reduced modulo the table sizes.
    let weekday = WEEKDAYS[usize::try_from(days % 7).unwrap_or(0)];
    let month_name = MONTHS[usize::try_from((month + 11) % 12).unwrap_or(0)];
    out[0..3].copy_from_slice(weekday);
    two_digits(&mut out[5..7], day);
    out[8..11].copy_from_slice(month_name);
    two_digits(&mut out[12..14], year / 100);
    two_digits(&mut out[14..16], year % 100);
    two_digits(&mut out[17..19], rem / 3600);
    two_digits(&mut out[20..22], (rem / 60) % 60);
    two_digits(&mut out[23..25], rem % 60);
    out
}

struct Cache {
    secs: u64,
    value: Bytes,
}

thread_local! {
    static CACHE: RefCell<Cache> = const { RefCell::new(Cache { secs: u64::MAX, value: Bytes::new() }) };
}

/// The current date as a header value; recomputed at most once per second
/// per thread, otherwise a reference-count increment.
pub fn now() -> Bytes {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.secs != secs {
            cache.secs = secs;
            cache.value = Bytes::copy_from_slice(&format_imf_fixdate(secs));
        }
        cache.value.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(secs: u64) -> String {
        String::from_utf8(format_imf_fixdate(secs).to_vec()).unwrap_or_default()
    }

    #[test]
    fn rfc_example() {
        // RFC 9110 §5.6.7's example.
        assert_eq!(fmt(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[test]
    fn epoch_and_leap_days() {
        assert_eq!(fmt(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(fmt(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(fmt(1_709_164_800), "Thu, 29 Feb 2024 00:00:00 GMT");
        assert_eq!(fmt(4_107_542_399), "Sun, 28 Feb 2100 23:59:59 GMT");
        assert_eq!(fmt(4_107_542_400), "Mon, 01 Mar 2100 00:00:00 GMT");
        assert_eq!(fmt(1_735_689_599), "Tue, 31 Dec 2024 23:59:59 GMT");
    }

    #[test]
    fn far_future_is_clamped_to_four_digit_years() {
        assert_eq!(fmt(u64::MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
    }

    #[test]
    fn cached_value_is_well_formed() {
        let v = now();
        assert_eq!(v.len(), DATE_LEN);
        assert!(v.ends_with(b" GMT"));
        assert_eq!(now().len(), DATE_LEN);
    }
}
