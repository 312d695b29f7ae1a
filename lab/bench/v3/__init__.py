"""LCIO-Bench v3's content: everyday and multimodal items written out, grouped into families.

Each module holds one domain's families (`items.Family`): a family is a source/template/topic
group, so that splitting the bench by family leaves no near-duplicate prompt on both sides.
`lab.bench.scenarios_v3` deals the families into dialogues."""
