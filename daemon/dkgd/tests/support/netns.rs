//! Test hosts in network namespaces this test creates (iproute2): a hub namespace with a
//! bridge, one namespace per node joined to it by a veth pair, addresses 10.77.<net>.<i+1>/24
//! that exist only inside these namespaces. Partitions are blackhole routes between two
//! hosts, so an established TCP connection goes silent instead of being reset (a cut cable,
//! not a refused port). Everything is deleted on drop.

use std::process::{Command, Stdio};

/// The namespaces of one test.
pub struct Hosts {
    hub: String,
    nodes: Vec<String>,
    net: u8,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Hosts {
    /// `n` hosts on a private bridge, or why they cannot be made here (not root, no
    /// iproute2, no namespaces in this sandbox): the caller skips, loudly.
    pub fn new(n: usize) -> Result<Self, String> {
        if !nix::unistd::geteuid().is_root() {
            return Err("needs root to create network namespaces".into());
        }
        let tag = std::process::id();
        // One /24 per test process, so parallel test binaries do not collide.
        let net = u8::try_from(tag % 200 + 20).unwrap_or(77);
        let hosts = Hosts {
            hub: format!("dkgd{tag}hub"),
            nodes: (0..n).map(|i| format!("dkgd{tag}n{i}")).collect(),
            net,
        };
        ip(&["netns", "add", &hosts.hub])?;
        let hub = hosts.hub.as_str();
        ip(&["-n", hub, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", hub, "link", "set", "br0", "up"])?;
        for (i, ns) in hosts.nodes.iter().enumerate() {
            ip(&["netns", "add", ns])?;
            let port = format!("p{i}");
            ip(&[
                "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", &port, "netns",
                hub,
            ])?;
            ip(&["-n", hub, "link", "set", &port, "master", "br0", "up"])?;
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{}/24", hosts.addr(i)),
                "dev",
                "eth0",
            ])?;
            ip(&["-n", ns, "link", "set", "eth0", "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        Ok(hosts)
    }

    /// Host `i`'s address.
    pub fn addr(&self, i: usize) -> String {
        format!("10.77.{}.{}", self.net, i + 1)
    }

    /// Every host's address, in order.
    pub fn addrs(&self) -> Vec<String> {
        (0..self.nodes.len()).map(|i| self.addr(i)).collect()
    }

    /// The command prefix that runs a program on host `i`.
    pub fn runner(&self, i: usize, program: &str) -> Vec<String> {
        ["ip", "netns", "exec", &self.nodes[i], program]
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    }

    /// Cuts hosts `a` and `b` apart (both directions); every other pair still talks.
    pub fn partition(&self, a: usize, b: usize) -> Result<(), String> {
        for (from, to) in [(a, b), (b, a)] {
            let dst = format!("{}/32", self.addr(to));
            ip(&["-n", &self.nodes[from], "route", "add", "blackhole", &dst])?;
        }
        Ok(())
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for ns in self.nodes.iter().chain([&self.hub]) {
            let _ = ip(&["netns", "del", ns]);
        }
    }
}
