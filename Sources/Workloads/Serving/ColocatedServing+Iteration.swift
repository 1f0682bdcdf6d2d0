// Colocated serving, iterations: pricing one (on one stage or through the pipeline) and what
// its end does to the requests.
import Engine

extension ColocatedServing {
    /// Prices the planned iteration and schedules its end: at once on one stage, or through
    /// the pipeline, each stage when it is free, then the send to the next. The run's jitter and
    /// stragglers scale the whole iteration; the CPU side comes before the GPU's work, or hides
    /// behind it with overlap scheduling.
    mutating func launch(_ n: Int, _ q: Instance) {
        let decoding = q.iteration.decoding, chunks = q.iteration.chunks, groupTokens = q.iteration.groupTokens
        // The busiest group: the most prompt tokens (the first of equals).
        let busiest = groupTokens.indices.max { groupTokens[$0] < groupTokens[$1] || (groupTokens[$0] == groupTokens[$1] && $0 > $1) }!
        let shape = IterationShape(decodeSequences: (decoding + groups - 1) / groups, meanContext: decoding == 0 ? 0 : q.contextSum / decoding,
                                   prefills: chunks.filter { $0.group == busiest }.map { PrefillChunk(tokens: $0.chunk, context: requests[$0.request].prefilled) },
                                   positions: positions, instanceTokens: decoding * positions + groupTokens.reduce(0, +))
        let sequences = decoding + chunks.count
        let end: Double
        if stages > 1 {
            let ready = sim.now + (time.stack.overlapScheduling ? 0 : time.stack.iterationSeconds(gpu: 0, sequences: sequences))
            end = pipeline.end(of: shape, on: n / stages, from: ready, prices: pricer, factor: time(1))
        } else {
            var seconds = pricer.seconds(shape)
            if let speculation, let draftPricer, decoding > 0 {
                seconds += Double(speculation.draftTokens) * draftPricer.seconds(decodeSequences: decoding, meanContext: shape.meanContext,
                                                                                 prefillTokens: 0, prefillContext: 0)
            }
            end = sim.now + time.stack.iterationSeconds(gpu: time(seconds), sequences: sequences)
        }
        sim.schedule(.iterationDone(n), at: end)
        if traceLog != nil {
            traceLog!.iteration(pid: n / stages, tid: n % stages, engines: stages, start: sim.now, end: end, decodes: decoding, prefills: chunks.count,
                                promptTokens: groupTokens.reduce(0, +), running: q.running, waiting: q.queued,
                                kvUsed: Double(usedBlocks(q) * blockTokens), kvCapacity: Double(capacityBlocks * blockTokens))
        }
    }

    /// Every decoding request gains its tokens and every chunk is prefilled; finished requests
    /// free their cache; the next iteration starts.
    mutating func finishIteration(_ n: Int) {
        var q = Instance()
        swap(&q, &instances[n])
        q.busy = false
        let now = sim.now
        if timeline != nil { countTokens(q, instance: n / stages) }
        if let tokensPerStep {
            decodeEach(&q, tokensPerStep: tokensPerStep, now: now)
        } else {
            // Every decoding request gains one token: their contexts grow by one each, and
            // those whose last token this is finish.
            q.steps += 1
            q.contextSum += q.iteration.decoding
            let slot = q.steps % q.completions.count
            var due: [Completion] = []
            swap(&due, &q.completions[slot])
            for c in due {
                let i = c.request
                guard requests[i].running && requests[i].residency == c.residency else { continue }  // preempted since
                requests[i].generated = requests[i].output
                q.contextSum -= requests[i].context
                q.residues[mod(requests[i].decodeBase)] -= 1
                q.decodingCount -= 1
                finish(i, &q)
            }
            due.removeAll(keepingCapacity: true)
            swap(&due, &q.completions[slot])
        }
        // Prefill; a finished prompt starts decoding (or is done, with its last token).
        for (p, chunk, _) in q.iteration.chunks where requests[p].running {
            guard requests[p].prefill(chunk, at: now) else { continue }
            if paged { q.heldBlocks -= requests[p].allocated }
            requests[p].allocated = 0
            if requests[p].isComplete {
                finish(p, &q)
                continue
            }
            q.decodingCount += 1
            q.contextSum += requests[p].context
            if tokensPerStep == nil {
                requests[p].decodeBase = requests[p].context - q.steps
                q.residues[mod(requests[p].decodeBase)] += 1
                // One more token per step: the last comes output − generated steps on.
                q.completions[(q.steps + requests[p].output - requests[p].generated) % q.completions.count]
                    .append(Completion(request: p, residency: requests[p].residency))
            } else {
                q.decodeBlocks += blocks(requests[p].context + positions - 1)
                q.decoding.append(p)
            }
        }
        q.prefilling.removeAll { requests[$0].prefilled == requests[$0].prompt || !requests[$0].running }
        if q.admitted.count > 2 * q.running + 64 {
            q.admitted.removeAll { !(requests[$0.request].running && requests[$0.request].residency == $0.residency) }
        }
        swap(&q, &instances[n])
        startIteration(n)
    }

    /// The timeline's tokens of the iteration ending now: every chunk's prompt tokens, a token
    /// for each prompt it finishes, and the decodes' tokens (one each, or with speculative
    /// decoding their expected accepted tokens).
    mutating func countTokens(_ q: Instance, instance k: Int) {
        for (p, chunk, _) in q.iteration.chunks where requests[p].running {
            timeline!.prefilled(chunk, endingPrompt: requests[p].prefilled + chunk == requests[p].prompt, on: k)
        }
        timeline!.tokens[k] += Double(q.iteration.decoding) * (tokensPerStep ?? 1)
    }

    /// Speculative decoding: each decoding request gains its own whole tokens as its expected
    /// accepted tokens accumulate; the unfinished stay in place (one pass, no allocation, the
    /// requests' storage borrowed once).
    mutating func decodeEach(_ q: inout Instance, tokensPerStep: Double, now: Double) {
        var kept = 0
        var contextSum = q.contextSum, decodeBlocks = 0
        var finished: [Int] = []
        let count = q.iteration.decoding
        let lookahead = positions - 1, blockTokens = blockTokens
        q.decoding.withUnsafeMutableBufferPointer { decoding in
            requests.withUnsafeMutableBufferPointer { requests in
                for index in 0..<count {
                    let i = decoding[index]
                    let before = requests[i].generated
                    requests[i].decode(tokensPerStep: tokensPerStep)
                    if requests[i].isComplete {
                        contextSum -= requests[i].input + before
                        finished.append(i)
                    } else {
                        contextSum += requests[i].generated - before
                        decodeBlocks += (requests[i].context + lookahead + blockTokens - 1) / blockTokens
                        decoding[kept] = i
                        kept += 1
                    }
                }
            }
        }
        q.decoding.removeSubrange(kept..<count)
        q.decodingCount -= finished.count
        q.contextSum = contextSum
        q.decodeBlocks = decodeBlocks
        for i in finished { finish(i, &q) }
    }
}
