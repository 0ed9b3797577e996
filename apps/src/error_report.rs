//! The one line a failed command prints: the error and each cause not yet said, without the
//! C++ backtrace libtorch appends to its exceptions.

/// `error` and its causes joined by `: `, leaving out a cause whose text the line already
/// holds (an error that prints its source as part of its own message would say it twice).
pub fn error_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = without_cpp_backtrace(&cause.to_string());
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// A libtorch exception's message without the backtrace it carries (`Exception raised from
/// ... (most recent call first):` and its `frame #N:` lines), which says nothing to a user.
pub fn without_cpp_backtrace(text: &str) -> String {
    let cut = text.find("Exception raised from").unwrap_or(text.len());
    let kept: Vec<&str> = text[..cut]
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim_start().starts_with("frame #") && !l.is_empty())
        .collect();
    kept.join(" ")
}

#[cfg(test)]
mod tests {
    use super::{error_line, without_cpp_backtrace};

    #[test]
    fn libtorch_backtraces_are_cut() {
        let torch = "Internal torch error: numel: integer multiplication overflow\n\
                     Exception raised from numel at /pytorch/c10/core/TensorImpl.h:1234 (most recent call first):\n\
                     frame #0: c10::Error::Error(c10::SourceLocation, std::string) + 0x9c\n\
                     frame #1: at::native::empty + 0x1f";
        assert_eq!(
            without_cpp_backtrace(torch),
            "Internal torch error: numel: integer multiplication overflow"
        );
        assert_eq!(without_cpp_backtrace("plain: message"), "plain: message");
    }

    #[derive(Debug, thiserror::Error)]
    enum Wrapping {
        #[error("reading the weights: {0}")]
        Io(#[from] std::io::Error),
    }

    #[test]
    fn each_cause_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "vgg16.pth: no such file");
        let e = anyhow::Error::new(Wrapping::from(io)).context("loading vgg16");
        assert_eq!(
            error_line(&e),
            "loading vgg16: reading the weights: vgg16.pth: no such file"
        );
        let plain = anyhow::anyhow!("bad option").context("parsing");
        assert_eq!(error_line(&plain), "parsing: bad option");
    }
}
