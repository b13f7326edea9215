// Welcomes a member: the data is what the approval step was resolved with ({"approved": true, "by": "…"}).
export default {
  step(state) {
    return { member: true, approved_by: state.data.by ?? "someone" };
  },
};
