//! The one line a failed command prints: the error and each cause not yet said.

/// `error` and its causes joined by `: `, leaving out a cause whose text the line already
/// holds (an error that prints its source as part of its own message would say it twice).
pub fn error_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
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

#[cfg(test)]
mod tests {
    use super::error_line;

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
