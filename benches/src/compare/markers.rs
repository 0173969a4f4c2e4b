//! Replaces the generated part of `RESULTS.md`, between [`BEGIN`] and [`END`],
//! so hand-written notes elsewhere in the file survive every run.

use std::path::Path;

use super::CompareError;

/// Opens the generated section.
pub const BEGIN: &str = "<!-- compare:begin -->";
/// Closes the generated section.
pub const END: &str = "<!-- compare:end -->";

/// `existing` with the text between the markers replaced by `generated`;
/// without markers, the section is appended. A marker counts only on a line of
/// its own, so prose that quotes one is left alone. `Err((found, missing))`
/// when only one marker is there.
pub fn splice(existing: &str, generated: &str) -> Result<String, (&'static str, &'static str)> {
    let section = format!("{BEGIN}\n{}\n{END}", generated.trim_end());
    match (marker_line(existing, BEGIN), marker_line(existing, END)) {
        (Some(begin), Some(end)) if begin < end => Ok(format!(
            "{}{section}{}",
            &existing[..begin],
            &existing[end + END.len()..]
        )),
        (Some(_), Some(_)) => Err((END, BEGIN)),
        (None, None) => {
            let separator = match existing {
                "" => "",
                s if s.ends_with("\n\n") => "",
                s if s.ends_with('\n') => "\n",
                _ => "\n\n",
            };
            Ok(format!("{existing}{separator}{section}\n"))
        }
        (Some(_), None) => Err((BEGIN, END)),
        (None, Some(_)) => Err((END, BEGIN)),
    }
}

/// The byte offset of the first line that is exactly `marker` (spaces aside).
fn marker_line(text: &str, marker: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim() == marker {
            return Some(offset + line.find(marker).unwrap_or(0));
        }
        offset += line.len();
    }
    None
}

/// Writes `generated` into the marked section of the file at `path` (created when absent).
pub fn write_results(path: &Path, generated: &str) -> Result<(), CompareError> {
    let io = |source| CompareError::Io {
        path: path.to_owned(),
        source,
    };
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(e)),
    };
    let updated =
        splice(&existing, generated).map_err(|(found, missing)| CompareError::Markers {
            path: path.to_owned(),
            found,
            missing,
        })?;
    std::fs::write(path, updated).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_the_marked_section() {
        let before = format!("# Notes\nkeep me\n{BEGIN}\nold\n{END}\ntail\n");
        let after = splice(&before, "new\n").unwrap();
        assert_eq!(
            after,
            format!("# Notes\nkeep me\n{BEGIN}\nnew\n{END}\ntail\n")
        );
        assert_eq!(splice(&after, "new").unwrap(), after);
    }

    #[test]
    fn markers_quoted_in_prose_do_not_count() {
        let before = format!("Between `{BEGIN}` and `{END}`.\n\n{BEGIN}\nold\n{END}\n");
        let after = splice(&before, "new").unwrap();
        assert_eq!(
            after,
            format!("Between `{BEGIN}` and `{END}`.\n\n{BEGIN}\nnew\n{END}\n")
        );
    }

    #[test]
    fn appends_when_there_are_no_markers() {
        assert_eq!(
            splice("# R\n", "t").unwrap(),
            format!("# R\n\n{BEGIN}\nt\n{END}\n")
        );
        assert_eq!(splice("", "t").unwrap(), format!("{BEGIN}\nt\n{END}\n"));
    }

    #[test]
    fn refuses_a_lone_marker() {
        assert!(splice(&format!("x\n{BEGIN}\ny\n"), "t").is_err());
        assert!(splice(&format!("{END}\n{BEGIN}\n"), "t").is_err());
    }
}
