//! Orders of a functional graph's nodes: Keras' order of `model.layers`, and a topological
//! order that finds cycles.

use super::node::Node;

/// The order of `model.layers` in Keras (`keras/src/ops/function.py`, `map_graph`): a
/// depth-first walk from the outputs through each node's inputs numbers the layers; each layer
/// gets the longest distance from it to an output as depth; layers come by decreasing depth,
/// ties by their walk number.
pub(super) fn keras_layer_order(nodes: &[Node], inputs: &[usize], outputs: &[usize]) -> Vec<usize> {
    fn walk(
        n: usize,
        nodes: &[Node],
        inputs: &[usize],
        finished: &mut [bool],
        op_index: &mut Vec<usize>,
        order: &mut Vec<usize>,
    ) {
        if finished[n] {
            return;
        }
        if !op_index.contains(&nodes[n].layer) {
            op_index.push(nodes[n].layer);
        }
        if !inputs.contains(&n) {
            for &p in &nodes[n].inputs {
                walk(p, nodes, inputs, finished, op_index, order);
            }
        }
        finished[n] = true;
        order.push(n);
    }
    let mut finished = vec![false; nodes.len()];
    let mut op_index = Vec::new();
    let mut order = Vec::new();
    for &o in outputs {
        walk(o, nodes, inputs, &mut finished, &mut op_index, &mut order);
    }
    let mut node_depth: std::collections::HashMap<usize, usize> = Default::default();
    let mut layer_depth: std::collections::HashMap<usize, usize> = Default::default();
    for &n in order.iter().rev() {
        let depth = (*node_depth.get(&n).unwrap_or(&0))
            .max(*layer_depth.get(&nodes[n].layer).unwrap_or(&0));
        layer_depth.insert(nodes[n].layer, depth);
        node_depth.insert(n, depth);
        for &p in &nodes[n].inputs {
            let prev = *node_depth.get(&p).unwrap_or(&0);
            node_depth.insert(p, prev.max(depth + 1));
        }
    }
    // Inputs not connected to an output still belong to the model.
    for &i in inputs {
        if !op_index.contains(&nodes[i].layer) {
            op_index.push(nodes[i].layer);
            layer_depth.insert(nodes[i].layer, 0);
        }
    }
    let mut layers = op_index.clone();
    let rank = |l: &usize| op_index.iter().position(|x| x == l).unwrap_or(usize::MAX);
    layers.sort_by(|a, b| {
        layer_depth[b]
            .cmp(&layer_depth[a])
            .then_with(|| rank(a).cmp(&rank(b)))
    });
    layers
}

/// Kahn's algorithm: node indices in an order where inputs come first, or the nodes of a
/// cycle.
pub(super) fn topological_order(nodes: &[Node]) -> std::result::Result<Vec<usize>, Vec<usize>> {
    let n = nodes.len();
    let mut indegree: Vec<usize> = nodes.iter().map(|node| node.inputs.len()).collect();
    let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, node) in nodes.iter().enumerate() {
        for &j in &node.inputs {
            consumers[j].push(i);
        }
    }
    let mut ready: std::collections::VecDeque<usize> =
        (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_front() {
        order.push(i);
        for &c in &consumers[i] {
            indegree[c] -= 1;
            if indegree[c] == 0 {
                ready.push_back(c);
            }
        }
    }
    if order.len() == n {
        Ok(order)
    } else {
        Err((0..n).filter(|&i| indegree[i] > 0).collect())
    }
}
